#!/usr/bin/env bash
# Writes the price table orch ships, bins/lib/spend/prices.json, from LiteLLM's model price list
# as its package on PyPI ships it (litellm/model_prices_and_context_window_backup.json in the
# wheel; ccusage prices from the same list):
#
#   install/prices.sh            the newest `litellm` on PyPI
#   install/prices.sh 1.110.2    that version
#
# Needs python3 and pip, and PyPI. Run by hand when prices change (orch doctor warns when the
# table is older than 90 days) and commit the result: orch never fetches prices at run time.
#
# Kept: the models of the four CLIs orch drives, each as its own provider lists it: Anthropic's
# `claude-*` (Claude Code, pi), OpenAI's `gpt-5*`, `codex*` and `o<digit>*` chat and responses
# models (Codex, pi) and the Gemini API's `gemini-*` chat models (Gemini CLI, pi; LiteLLM's
# `gemini/` prefix dropped). A dated snapshot whose rates are its undated model's is left out
# (orch maps `-20250929` and `-2025-08-07` to the undated name). Rates are USD per million
# tokens: input, output, cache_read, cache_write (5-minute), cache_write_1h, and `above`: the
# rates of a call whose prompt is above `tokens` (LiteLLM's `*_above_<N>k_tokens`). One model a
# line, sorted, so a new release's diff shows what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

WANT=${1:-}
OUT=bins/lib/spend/prices.json
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

say() { printf 'prices: %s\n' "$*" >&2; }

command -v python3 >/dev/null 2>&1 || { say "error: python3 not found"; exit 1; }
say "downloading litellm${WANT:+==$WANT} from PyPI"
python3 -m pip download --quiet --no-deps --dest "$TMP" "litellm${WANT:+==$WANT}" >&2 ||
    { say "error: \`pip download litellm\` failed (is PyPI reachable?)"; exit 1; }

python3 - "$TMP" "$OUT" <<'EOF'
import datetime, glob, json, re, sys, zipfile

tmp, out = sys.argv[1], sys.argv[2]
wheels = glob.glob(f"{tmp}/litellm-*.whl")
if len(wheels) != 1:
    sys.exit(f"prices: error: expected one litellm wheel in {tmp}, found {wheels}")
wheel = zipfile.ZipFile(wheels[0])
meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
version = re.search(r"^Version: (\S+)$", wheel.read(meta).decode(), re.M).group(1)
table_name = "litellm/model_prices_and_context_window_backup.json"
table = json.loads(wheel.read(table_name))

def family(key, entry):
    """The name orch lists `key` under, or None when no CLI orch drives uses it."""
    provider, mode = entry.get("litellm_provider"), entry.get("mode")
    if provider == "anthropic" and key.startswith("claude-") and mode == "chat":
        return key
    if provider == "openai" and re.match(r"(gpt-5|codex|o\d)", key) and mode in ("chat", "responses"):
        return key
    if provider == "gemini" and key.startswith("gemini/gemini-") and mode == "chat":
        return key[len("gemini/"):]
    return None

# orch's field: LiteLLM's key (USD per token).
FIELDS = [
    ("input", "input_cost_per_token"),
    ("output", "output_cost_per_token"),
    ("cache_read", "cache_read_input_token_cost"),
    ("cache_write", "cache_creation_input_token_cost"),
    ("cache_write_1h", "cache_creation_input_token_cost_above_1hr"),
]

def per_million(cost):
    return round(cost * 1e6, 6)

def rates(key, entry):
    row = {f: per_million(entry[k]) for f, k in FIELDS if isinstance(entry.get(k), (int, float))}
    if "input" not in row or "output" not in row:
        return None
    tiers = sorted({int(m.group(1)) for k in entry
                    for m in [re.fullmatch(r"input_cost_per_token_above_(\d+)k_tokens", k)] if m})
    if len(tiers) > 1:
        sys.exit(f"prices: error: {key} lists several tiers ({tiers}k): orch keeps one")
    if tiers:
        n = tiers[0]
        above = {"tokens": n * 1000}
        for f, k in FIELDS:
            v = entry.get(f"{k}_above_{n}k_tokens")
            if isinstance(v, (int, float)):
                above[f] = per_million(v)
        row["above"] = above
    return row

models = {}
for key, entry in table.items():
    if not isinstance(entry, dict):
        continue
    name = family(key, entry)
    row = name and rates(key, entry)
    if row:
        models[name] = row

def undated(name):
    return re.sub(r"-(\d{8}|\d{4}-\d{2}-\d{2})$", "", name)

models = {n: r for n, r in models.items() if undated(n) == n or models.get(undated(n)) != r}

def number(v):
    return str(int(v)) if v == int(v) else repr(v)

def line(row):
    parts = []
    for k, v in row.items():
        parts.append(f'"{k}": {line(v) if isinstance(v, dict) else number(v)}')
    return "{" + ", ".join(parts) + "}"

today = datetime.date.today().isoformat()
head = {
    "source": f"LiteLLM's model price list ({table_name}) in the `litellm` {version} package on PyPI, "
              f"taken by install/prices.sh on {today}",
    "package": "litellm",
    "version": version,
    "date": today,
    "unit": "USD per million tokens",
}
with open(out, "w") as f:
    f.write("{\n")
    for k, v in head.items():
        f.write(f"  {json.dumps(k)}: {json.dumps(v)},\n")
    f.write('  "models": {\n')
    names = sorted(models)
    for i, n in enumerate(names):
        f.write(f"    {json.dumps(n)}: {line(models[n])}{',' if i < len(names) - 1 else ''}\n")
    f.write("  }\n}\n")
json.load(open(out))
print(f"prices: wrote {out}: {len(models)} models from litellm {version}", file=sys.stderr)
EOF
