#!/bin/sh
# Installs what emotty needs on a Debian/Ubuntu machine, then exits.
#   scripts/bootstrap.sh          build dependencies (ALSA headers, pkg-config, a Rust toolchain)
#   scripts/bootstrap.sh --test   also what the test suite uses: PulseAudio (a null sink
#                                 stands in for a microphone), tmux (whole-program UI tests)
# Safe to run again: it only installs what is missing.
set -eu

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

pkgs="libasound2-dev pkg-config gcc"
if [ "$want_test" -eq 1 ]; then
    pkgs="$pkgs pulseaudio pulseaudio-utils libasound2-plugins alsa-utils tmux"
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        echo "bootstrap: cargo is in ~/.cargo/bin; add it to PATH (. \"\$HOME/.cargo/env\")"
    else
        echo "bootstrap: installing the Rust toolchain with rustup (https://rustup.rs)"
        command -v curl >/dev/null 2>&1 || { $SUDO apt-get update -qq; $SUDO apt-get install -y -qq curl ca-certificates; }
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        echo "bootstrap: run  . \"\$HOME/.cargo/env\"  (or open a new shell) to use cargo"
    fi
fi
