# Shared set-up for scripts/acuvoice and scripts/test: sourced, not run.
# Creates .venv when missing, installs system packages when run as root, and (re)installs the
# project only when pyproject.toml changed since the last install, so a second run is quick.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# Debian packages the real speech engines and encoders need (espeak-ng for pyttsx3, ffmpeg for pydub).
DEB_PACKAGES=(espeak-ng ffmpeg)
# What only the tests need: headless Chromium renders the companion sheet for a screenshot
# (and writes its PDF where a user has it).
DEB_TEST_PACKAGES=(chromium)

_say() { printf 'acuvoice setup: %s\n' "$*" >&2; }
_quiet() { grep -v "^WARNING: Location '.*' is ignored" >&2 || true; }

_find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local missing=() pkg
    for pkg in "${DEB_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        _say "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        _say "missing system packages: ${missing[*]}; the real voices and MP3/M4A export need them."
        _say "install them with: sudo apt-get install ${missing[*]}"
    fi
}

# setup_env EXTRAS: make .venv and install the project with the given extras ("dev,piper").
# Quick when pyproject.toml is unchanged and the extras asked for were installed before.
setup_env() {
    local extras="${1:-}" py stamp sum have extra missing=""
    if [[ ",$extras," == *",dev,"* ]]; then _system_packages "${DEB_TEST_PACKAGES[@]}"; else _system_packages; fi
    if [ ! -x "$VENV/bin/python" ]; then
        py="$(_find_python)" || { _say "Python 3.10 or newer is needed (set PYTHON=/path/to/python3)"; exit 2; }
        _say "creating .venv with $py"
        "$py" -m venv "$VENV"
    fi
    # The checkout's own modules as bytecode (a tenth of a second when up to date): an
    # editable install is not compiled by pip, and where PYTHONDONTWRITEBYTECODE is set
    # every command would compile them again (a quarter of a second each).
    "$VENV/bin/python" -m compileall -q -j0 "$ROOT/src" >/dev/null || true
    stamp="$VENV/.acuvoice-installed"
    sum="$(cksum <"$ROOT/pyproject.toml" | cut -d' ' -f1)"
    have="$( [ -f "$stamp" ] && sed -n 2p "$stamp" || true)"
    if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$sum" ]; then
        for extra in ${extras//,/ }; do
            case ",$have," in *",$extra,"*) ;; *) missing=1 ;; esac
        done
        [ -z "$missing" ] && return 0
    fi
    # Keep what an earlier install had, so ./scripts/acuvoice after ./scripts/test keeps the dev tools.
    extras="$(printf '%s\n' ${extras//,/ } ${have//,/ } | sort -u | paste -sd, -)"
    _say "installing acuvoice${extras:+[$extras]} into .venv (first run only)"
    # pip -q still prints this machine's "Location ... is ignored" index warnings: drop them.
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | _quiet
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT${extras:+[$extras]}" 2>&1 | _quiet
    printf '%s\n%s\n' "$sum" "$extras" >"$stamp"
}
