#!/usr/bin/env bash
# Regenerates the real pw.x outputs used by the unit tests (Debian QE 6.7, OpenMPI, 2 ranks).
# Usage: bash make.sh   (writes *.out next to this script; takes about a minute)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pp=/usr/share/espresso/pseudo
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
run() {  # run NAME NP: pw.x on $work/NAME.in with NP ranks (pools = NP)
  (cd "$work" && mpirun "${root[@]}" -np "$2" pw.x -nk "$2" -in "$1.in" > "$here/$1.out" 2>/dev/null) || true
}
si_system="ibrav=2, celldm(1)=10.20, nat=2, ntyp=1, ecutwfc=18.0"
si_species="ATOMIC_SPECIES
 Si 28.086 Si.pz-vbc.UPF"
cat > "$work/si_scf.in" <<IN
&control
  calculation='scf', prefix='si', pseudo_dir='$pp', outdir='./', tstress=.true., tprnfor=.true.
/
&system
  $si_system
/
&electrons
  conv_thr=1.0d-8
/
$si_species
ATOMIC_POSITIONS {alat}
 Si 0.00 0.00 0.00
 Si 0.25 0.25 0.25
K_POINTS automatic
4 4 4 1 1 1
IN
run si_scf 2
sed -e "s/conv_thr=1.0d-8/conv_thr=1.0d-12, electron_maxstep=2/" "$work/si_scf.in" > "$work/si_notconv.in"
run si_notconv 2
sed -e "s/ecutwfc=18.0/ecutwf=18.0/" "$work/si_scf.in" > "$work/si_badinput.in"
run si_badinput 1
# A leftover <outdir>/<prefix>.EXIT file makes pw.x stop cleanly at its first check.
sed -e "s/prefix='si'/prefix='sistop'/" "$work/si_scf.in" > "$work/si_stopped.in"
touch "$work/sistop.EXIT"
run si_stopped 2
cat > "$work/si_relax.in" <<IN
&control
  calculation='relax', prefix='sirx', pseudo_dir='$pp', outdir='./', tprnfor=.true.
/
&system
  $si_system
/
&electrons
  conv_thr=1.0d-8
/
&ions
/
$si_species
ATOMIC_POSITIONS {crystal}
 Si 0.00 0.00 0.00
 Si 0.27 0.25 0.25
K_POINTS automatic
2 2 2 0 0 0
IN
run si_relax 2
cat > "$work/al_smearing.in" <<IN
&control
  calculation='scf', prefix='al', pseudo_dir='$pp', outdir='./'
/
&system
  ibrav=2, celldm(1)=7.50, nat=1, ntyp=1, ecutwfc=15.0, occupations='smearing', smearing='mv', degauss=0.05
/
&electrons
/
ATOMIC_SPECIES
 Al 26.98 Al.pz-vbc.UPF
ATOMIC_POSITIONS {alat}
 Al 0.0 0.0 0.0
K_POINTS automatic
6 6 6 1 1 1
IN
run al_smearing 2
cat > "$work/ni_spin.in" <<IN
&control
  calculation='scf', prefix='ni', pseudo_dir='$pp', outdir='./'
/
&system
  ibrav=2, celldm(1)=6.65, nat=1, ntyp=1, ecutwfc=24.0, ecutrho=288.0, nspin=2,
  starting_magnetization(1)=0.7, occupations='smearing', smearing='mv', degauss=0.02
/
&electrons
  conv_thr=1.0d-6, mixing_beta=0.3
/
ATOMIC_SPECIES
 Ni 58.69 Ni.pz-nd-rrkjus.UPF
ATOMIC_POSITIONS {alat}
 Ni 0.0 0.0 0.0
K_POINTS automatic
4 4 4 1 1 1
IN
run ni_spin 2
# job/recovery's cases. Smearing with no empty band: efermig cannot bracket the Fermi level (more bands cure
# it). Davidson's subspace outgrows the few plane waves of a 4 Ry cutoff: cdiaghg's "S matrix not positive
# definite" (PPCG and CG converge). One rank, as qecloud runs it: pw.x itself, its stdout unbuffered (else
# the error box is lost in gfortran's buffer when LAXlib calls MPI_ABORT).
sed -e "s/ecutwfc=18.0/ecutwfc=18.0, nbnd=4, occupations='smearing', degauss=0.02/" "$work/si_scf.in" \
  > "$work/si_efermig.in"
run si_efermig 2
sed -e "s/ecutwfc=18.0/ecutwfc=4.0, nbnd=14/" -e "s/4 4 4 1 1 1/4 4 4 0 0 0/" -e "s/conv_thr=1.0d-8/conv_thr=1.0d-8, diagonalization='david'/" \
  "$work/si_scf.in" > "$work/si_cholesky.in"
(cd "$work" && GFORTRAN_UNBUFFERED_PRECONNECTED=y pw.x -in si_cholesky.in > "$here/si_cholesky.out" 2>/dev/null) || true
echo "outputs written to $here"
