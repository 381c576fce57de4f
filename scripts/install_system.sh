#!/usr/bin/env bash
# Installs the Debian packages empathy-edge needs, only those that are missing.
# Run as root (make demo / make test call it). Add packages to DEBIAN_PACKAGES.
set -euo pipefail

PYTHON=${PYTHON:-python3}
DEBIAN_PACKAGES=(
    libgomp1       # OpenMP runtime for CTranslate2 (faster-whisper)
    portaudio19-dev      # PortAudio headers: pip builds PyAudio (edge run's capture) from source
    gcc python3-dev      # ... with these (PyAudio has no Linux wheels)
    pulseaudio           # the capture tests' sound server (tests/pulse.py)
    libasound2-plugins   # ALSA's pulse device, which PortAudio opens in the capture tests
    chromium             # the page tests' headless browser (driven by Playwright)
    openssl              # the TLS test makes a throwaway certificate
    espeak-ng            # the language tests' speech (Spanish, Romanian, Vietnamese), make sample
    redis-server         # the fleet tests' bus ([fleet] redis_url); the tests start their own
    nodejs               # npm installs axe-core, the page tests' accessibility checker (make setup)
)

need=()
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    need+=(python3 python3-venv python3-pip)
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    need+=(python3-venv python3-pip)
fi
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        need+=("$pkg")
    fi
done

# npm: Debian's package, unless a Node.js build that bundles it is installed already
if ! command -v npm >/dev/null 2>&1; then
    need+=(npm)
fi

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_system: missing Debian packages: ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
    exit 1
fi
echo "install_system: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
