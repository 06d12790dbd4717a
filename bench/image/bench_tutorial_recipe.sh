#!/usr/bin/env bash
# The tutorial's image recipe (TUTORIAL.md §2: compile LAPACK with its reference BLAS, ScaLAPACK, FFTW and QE's
# pw.x from source, serially, as its RUN lines do) against the peer, `qecloud image build` (Debian's packages),
# in one run, on this machine.
#
# The tutorial downloads from netlib, fftw.org and GitHub, which a machine that reaches only Debian's archive
# cannot; the same projects' Debian source packages stand in (LAPACK 3.11 for 3.8.0, FFTW 3.3.10 for 3.3.8;
# ScaLAPACK 2.2.1 for 2.0.2 when the archive has it), built with the tutorial's commands and flags. QE's own
# step (`make pw`, the longest) is left out: QE 6.7's configure from Debian's source does not detect the MPI
# environment or the private prefix's FFTW here, and its bundled FoX fails to configure, so the
# tutorial's line does not build as written. Only compilation is timed — not the amazonlinux base, yum, the
# downloads or QE — so the figure is a lower bound of the recipe's cost. Needs root (apt-get source into a private list directory),
# gfortran, mpif90/mpicc (libopenmpi-dev) and make; the peer needs podman and the base image integration.image
# makes. Prints figures; asserts nothing about time.
#
# Usage: bench/image/bench_tutorial_recipe.sh QECLOUD_BINARY [WORKDIR]
set -euo pipefail
qecloud=$(realpath "$1")
work=${2:-/tmp/qecloud-tutorial-recipe}
mkdir -p "$work/apt/lists/partial" "$work/sources.d" "$work/src" "$work/prefix/lib"
cat >"$work/sources.d/src.sources" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources.d" -o "Dir::State::Lists=$work/apt/lists")
apt-get "${apt[@]}" update >/dev/null
cd "$work/src"
for pkg in lapack fftw3 scalapack; do
  ls ${pkg}_*.orig.tar.* >/dev/null 2>&1 || apt-get "${apt[@]}" source --download-only "$pkg" >/dev/null 2>&1 ||
    echo "note: Debian's archive here has no source of $pkg; its step is left out" >&2
done

declare -A seconds
step() {  # step NAME COMMAND...: time one of the recipe's RUN lines
  local name=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  if ! (set -e; "$@") >"$work/$name.log" 2>&1; then
    echo "FAIL: $name (see $work/$name.log)" >&2
    tail -20 "$work/$name.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  seconds[$name]=$(echo "$t1 - $t0" | bc)
  printf '%-10s %8.1f s\n' "$name" "${seconds[$name]}"
}
unpack() { rm -rf "$work/build-$1" && mkdir -p "$work/build-$1" && tar -xf "$work/src/$1"_*.orig.tar.* -C "$work/build-$1" --strip-components=1; }

echo "the tutorial's recipe, from Debian's sources (serial make, as its RUN lines):"
unpack lapack
step lapack bash -c "cd '$work/build-lapack' && cp make.inc.example make.inc && make blaslib && make cblaslib &&
  make lib && cp libcblas.a liblapack.a librefblas.a libtmglib.a '$work/prefix/lib/'"
if ls "$work"/src/scalapack_*.orig.tar.* >/dev/null 2>&1; then
  unpack scalapack
  step scalapack bash -c "cd '$work/build-scalapack' && cp SLmake.inc.example SLmake.inc &&
    sed -i 's/FCFLAGS       = -O3/FCFLAGS       = -O3 -fallow-argument-mismatch/g' SLmake.inc &&
    make lib BLASLIB='$work/prefix/lib/librefblas.a' LAPACKLIB='$work/prefix/lib/liblapack.a' &&
    cp libscalapack.a '$work/prefix/lib/'"
fi
unpack fftw3
step fftw bash -c "cd '$work/build-fftw3' && ./configure --prefix='$work/prefix' && make all && make install"
recipe=0
for k in "${!seconds[@]}"; do recipe=$(echo "$recipe + ${seconds[$k]}" | bc); done
printf '%-10s %8.1f s   (compilation of the libraries only, QE left out: a lower bound; %s MB installed)\n' total "$recipe" \
  "$(du -sm "$work/prefix" | cut -f1)"

echo "the peer: qecloud image build (Debian's packages):"
t0=$(date +%s.%N)
"$qecloud" image build --tag qecloud-bench:recipe --json >"$work/peer.json"
t1=$(date +%s.%N)
peer=$(echo "$t1 - $t0" | bc)
size=$(python3 -c "import json; print(round(json.load(open('$work/peer.json'))['size_bytes'] / 1e6))")
printf 'image build %6.1f s   (%s MB image; the engine'"'"'s layer cache as it is — remove the image and its\n' "$peer" "$size"
echo '                        layers first for a cold build)'
printf 'ratio: the recipe'"'"'s libraries alone compile %.1fx as long as qecloud image build takes in all\n' "$(echo "$recipe / $peer" | bc -l)"
