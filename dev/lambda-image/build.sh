#!/usr/bin/env bash
# Builds a stand-in for AWS Lambda's python3.12 base image, for `sam local invoke` on a machine
# that cannot pull public.ecr.aws/lambda/python:3.12 (no registry but PyPI and Debian here).
#
# It is NOT Amazon Linux: a minimal Debian 12 (debootstrap), pyenv's CPython 3.12 copied to
# /var/lang as Lambda keeps it, AWS's own runtime interface client (awslambdaric, from PyPI) and
# boto3 in /var/runtime as the Lambda runtime provides them, and a /var/runtime/bootstrap that
# starts the client with the function's handler. SAM adds its runtime interface emulator and
# the layer on top (its own `rapid` image), exactly as it does with the real base image.
#
# usage: build.sh IMAGE_TAG PYTHON3.12 WORK_DIR   (needs root, debootstrap and podman)
set -euo pipefail

tag=$1 python=$2 work=$3
prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
rootfs=$work/rootfs

rm -rf "$rootfs" && mkdir -p "$work"
# The shared libraries pyenv's Python links against, and CA certificates.
debootstrap --variant=minbase \
	--include=libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libuuid1,zlib1g,ca-certificates \
	bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log"

mkdir -p "$rootfs/var/lang" "$rootfs/var/runtime" "$rootfs/var/task" "$rootfs/opt"
cp -a "$prefix/." "$rootfs/var/lang/"
rm -rf "$rootfs/var/lang/lib/python3.12/test" "$rootfs/var/lang/lib/python3.12/site-packages"/*
"$python" -m pip install --quiet --disable-pip-version-check --target "$rootfs/var/runtime" awslambdaric boto3

cat >"$rootfs/var/runtime/bootstrap" <<'EOF'
#!/bin/sh
# Started by the runtime interface emulator, as Lambda's own bootstrap is.
export LD_LIBRARY_PATH=/var/lang/lib
export PYTHONPATH=/var/task:/opt/python:/var/runtime
exec /var/lang/bin/python3.12 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"
EOF
chmod +x "$rootfs/var/runtime/bootstrap"
# The binary's RUNPATH names pyenv's folder; the loader finds libpython in /var/lang/lib instead.
echo /var/lang/lib >"$rootfs/etc/ld.so.conf.d/var-lang.conf"
chroot "$rootfs" /sbin/ldconfig
# The standard library's C modules and the runtime client load inside the image's own files.
PYTHONPATH=/var/runtime chroot "$rootfs" /var/lang/bin/python3.12 -c 'import ssl, sqlite3, ctypes, awslambdaric'

tar -C "$rootfs" -c . | podman import \
	--change 'WORKDIR /var/task' \
	--change 'ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime LANG=C.UTF-8 PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin' \
	--change 'ENTRYPOINT ["/var/runtime/bootstrap"]' \
	- "$tag" >/dev/null
rm -rf "$rootfs"
echo "built $tag"
