//! What shows the fleet to a person: a worker at a glance (`summary`, for `ps` and `top`), the
//! live view (`top`) and the install's checks (`doctor`).

pub(crate) mod doctor;
pub(crate) mod summary;
pub(crate) mod top;
