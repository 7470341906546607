//! What shows the fleet to a person: a worker at a glance (`summary`, for `ps` and `top`), the
//! live view (`top`), the install's checks (`doctor`) and the colours they print in
//! (`paint`).

pub(crate) mod doctor;
pub(crate) mod paint;
pub(crate) mod summary;
pub(crate) mod top;
