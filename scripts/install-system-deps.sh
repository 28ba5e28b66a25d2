#!/usr/bin/env bash
# Install the Debian packages videowall needs beyond its Python virtual environment.
#
#   scripts/install-system-deps.sh GROUP...
#
# Groups:
#   base  creating the virtual environment (python3-venv)
#   demo  the demo's test cameras (GStreamer's RTSP server, driven by the system
#         Python) and its virtual screens (Xorg with the dummy driver, Xvfb,
#         xrandr, xdpyinfo, Mesa's software OpenGL)
#   bench the benchmark's peers: demo plus Debian's ffmpeg command line
#         and Eclipse Mosquitto, the MQTT broker of a wall over several hosts
#         (`make demo ARGS="--hosts 2"` starts one on 127.0.0.1)
#   test  what the tests need: bench (make test runs a quick bench), plus
#         systemd-analyze (the service unit is verified), Prometheus (promtool
#         checks the alert rules; a real server scrapes a running wall), and
#         Debian's Chromium and ChromeDriver, which drive the web control page,
#         and Mosquitto (the tests of a wall over several hosts start their own)
#
# Only missing packages are installed (apt-get update runs once, and only then);
# when everything is present it prints nothing. Installing needs root: run
# without root, it lists what is missing and exits 1.
#
# Recommends are not installed, so everything needed is named here. Two of them
# are easy to miss: gstreamer1.0-x holds textoverlay/timeoverlay (the pango
# plugin; gstreamer1.0-plugins-good only *recommends* it), and Xorg's
# recommended libgl1-mesa-dri is the software renderer GLX needs.
set -euo pipefail

BASE_PACKAGES=(
    python3-venv
)

# The RTSP test server: GObject introspection for the system python3, the RTSP server
# library, and the elements of its pipelines (videotestsrc: base; x264enc: ugly;
# x265enc: bad; jpegenc, rtp payloaders, rtpbin: good; textoverlay, timeoverlay: x).
GSTREAMER_PACKAGES=(
    python3-gi
    python3-gst-1.0
    gir1.2-gst-rtsp-server-1.0
    gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly
    gstreamer1.0-x
    fonts-dejavu-core
)

# Virtual screens: a 14-monitor wall (Xorg + dummy driver + xrandr), one Xvfb screen,
# xdpyinfo to wait for them, Mesa's llvmpipe for GLX.
X_PACKAGES=(
    xserver-xorg-core
    xserver-xorg-video-dummy
    xvfb
    x11-xserver-utils
    x11-utils
    libgl1
    libgl1-mesa-dri
    libglx-mesa0
)

# A wall over several hosts (issue 19) keeps its state and commands on an MQTT broker: the
# demo and the tests start Debian's Eclipse Mosquitto on 127.0.0.1 (the package's own
# service is not used: each starts its own broker with its own configuration file).
BROKER_PACKAGES=(
    mosquitto
)

# The broker's TLS test makes a self-signed certificate with the openssl command line.
TLS_TEST_PACKAGES=(
    openssl
)

# The benchmark's FFmpeg runner composes with the ffmpeg command line.
BENCH_PACKAGES=(
    ffmpeg
)

# The service unit is checked by `systemd-analyze verify`, the alert rules by
# `promtool check rules`, and a real Prometheus scrapes a running wall's /metrics.
SERVICE_TEST_PACKAGES=(
    systemd
    prometheus
)

# The control page's browser test (Selenium): the system's browser and its driver, so
# nothing is downloaded at test time.
BROWSER_PACKAGES=(
    chromium
    chromium-driver
)

usage() {
    echo "usage: $0 GROUP... (groups: base, demo, bench, test)" >&2
    exit 2
}

[[ $# -gt 0 ]] || usage

wanted=()
for group in "$@"; do
    case "$group" in
    base) wanted+=("${BASE_PACKAGES[@]}") ;;
    demo) wanted+=("${GSTREAMER_PACKAGES[@]}" "${X_PACKAGES[@]}" "${BROKER_PACKAGES[@]}") ;;
    bench) wanted+=("${GSTREAMER_PACKAGES[@]}" "${X_PACKAGES[@]}" "${BENCH_PACKAGES[@]}" "${BROKER_PACKAGES[@]}") ;;
    test)
        wanted+=("${GSTREAMER_PACKAGES[@]}" "${X_PACKAGES[@]}" "${BENCH_PACKAGES[@]}")
        wanted+=("${SERVICE_TEST_PACKAGES[@]}")
        wanted+=("${BROWSER_PACKAGES[@]}")
        wanted+=("${BROKER_PACKAGES[@]}" "${TLS_TEST_PACKAGES[@]}")
        ;;
    -h | --help) usage ;;
    *)
        echo "$0: unknown group '$group'" >&2
        usage
        ;;
    esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "$0: no dpkg-query here: this script knows Debian's packages only." >&2
    echo "Needed (Debian names): $(printf '%s\n' "${wanted[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 1
fi

missing=()
while IFS= read -r package; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done < <(printf '%s\n' "${wanted[@]}" | sort -u)

[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them as root:" >&2
    echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
    echo "or run this script as root: $0 $*" >&2
    exit 1
fi

echo "Installing: ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
