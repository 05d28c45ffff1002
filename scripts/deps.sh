#!/bin/sh
# deps.sh: install the Debian packages ghp needs to build, test and run,
# and only those that are missing.  Called by "make deps" (and so by
# "make run" and "make check").  Set GHP_NO_DEPS=1 to skip it.
set -eu

[ "${GHP_NO_DEPS:-0}" = 1 ] && exit 0

# pkg-config name -> Debian package
libs="libevent:libevent-dev libevent_openssl:libevent-dev
libsodium:libsodium-dev jansson:libjansson-dev libcurl:libcurl4-openssl-dev
libseccomp:libseccomp-dev openssl:libssl-dev sqlite3:libsqlite3-dev"
# command -> Debian package (gh: the forward-proxy tests run the real
# GitHub CLI through ghp)
tools="cc:gcc make:make pkg-config:pkg-config clang:clang mandoc:mandoc
python3:python3 git:git curl:curl openssl:openssl gh:gh"

missing=""
command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"
for pair in $libs; do
	pc=${pair%%:*}; deb=${pair#*:}
	if ! pkg-config --exists "$pc" 2>/dev/null; then
		missing="$missing $deb"
	fi
done
for pair in $tools; do
	cmd=${pair%%:*}; deb=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $deb"
done
# libFuzzer and the sanitizer runtimes come with clang's runtime package.
if ! command -v clang >/dev/null 2>&1; then
	missing="$missing libclang-rt-dev"
else
	rt=$(clang -print-resource-dir 2>/dev/null)/lib/linux
	ls "$rt"/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
	    missing="$missing libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
fi
# git http-backend (tests) ships with git itself.

missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "${missing# }" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: not root and no sudo: install these yourself:$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
