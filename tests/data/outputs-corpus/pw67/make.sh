#!/usr/bin/env bash
# Regenerates the pw.x 6.7 outputs of the output corpus (Debian's quantum-espresso, serial unless noted):
# every ionic algorithm pw.x 6.7 has (BFGS, damped, Wentzcovitch/Parrinello-Rahman/none cell dynamics,
# Verlet, Langevin), each also stopped at nstep, every diagonalizer, two Fermi energies, hybrid functionals
# and runs cut by max_seconds. Bulk silicon at a low cutoff: a few minutes on 2 cores.
# Usage: bash make.sh   (writes *.out next to this script; the asserted values are in ../EXPECTED.json
# and must be checked again by hand when an output changes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pp=/usr/share/espresso/pseudo
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
for tool in pw.x mpirun; do command -v "$tool" >/dev/null || { echo "make.sh: $tool not found" >&2; exit 1; }; done

run() {  # run NAME [NP]: pw.x on $work/NAME.in; the output is kept whatever pw.x's exit code
  mkdir -p "$work/$1"
  (cd "$work/$1" && mpirun "${root[@]}" -np "${2:-1}" pw.x -nk "${2:-1}" -in "../$1.in" > "$here/$1.out" 2>/dev/null) || true
  echo "$1: $(grep -c '^!' "$here/$1.out") '!' lines, $(grep -c 'JOB DONE' "$here/$1.out") JOB DONE"
}

# si NAME CALCULATION CONTROL SYSTEM ELECTRONS IONS CELL X: two silicon atoms, the second at (X, 1/4, 1/4).
si() {
  cat > "$work/$1.in" <<IN
&control
  calculation='$2', prefix='$1', pseudo_dir='$pp', outdir='./', tprnfor=.true., tstress=.true. $3
/
&system
  ibrav=2, celldm(1)=10.20, nat=2, ntyp=1, ecutwfc=12.0 $4
/
&electrons
  conv_thr=1.0d-8 $5
/
&ions
  $6
/
&cell
  $7
/
ATOMIC_SPECIES
 Si 28.086 Si.pz-vbc.UPF
ATOMIC_POSITIONS {crystal}
 Si 0.00 0.00 0.00
 Si ${8:-0.27} 0.25 0.25
K_POINTS automatic
2 2 2 0 0 0
IN
}

# Fixed-cell relaxations: BFGS, damped (proj_verlet); each converged and stopped at nstep.
si relax_bfgs relax "" "" "" "" ""; run relax_bfgs 2
si relax_bfgs_nstep relax ", nstep=2" "" "" "" ""; run relax_bfgs_nstep
si relax_damp relax "" "" "" "ion_dynamics='damp'" ""; run relax_damp
si relax_damp_nstep relax ", nstep=3" "" "" "ion_dynamics='damp'" ""; run relax_damp_nstep
# Variable-cell relaxations: BFGS (also converged at the first step, and stopped at nstep), and the
# damped cell dynamics of vcsmd (Wentzcovitch, Parrinello-Rahman, none).
si vcrelax_bfgs vc-relax "" ", celldm(1)=10.0" "" "" "" 0.26; run vcrelax_bfgs 2
si vcrelax_bfgs_first vc-relax ", etot_conv_thr=1.0d-2, forc_conv_thr=1.0d-1" "" "" "" "press_conv_thr=500" 0.25
run vcrelax_bfgs_first
si vcrelax_bfgs_nstep vc-relax ", nstep=2" ", celldm(1)=10.0" "" "" "" 0.26; run vcrelax_bfgs_nstep
vc_damp=", dt=100, etot_conv_thr=1.0d-4, forc_conv_thr=1.0d-3"
for c in damp-w damp-pr none; do
  case $c in damp-w) name=vcrelax_dampw ;; damp-pr) name=vcrelax_damppr ;; *) name=vcrelax_cellnone ;; esac
  nstep=""; [ "$c" = none ] && nstep=", nstep=4"  # the cell cannot move: it stops at nstep
  si "$name" vc-relax "$vc_damp$nstep" ", celldm(1)=10.1" "" "ion_dynamics='damp'" "cell_dynamics='$c', press_conv_thr=5" 0.26
  run "$name"
done
si vcrelax_dampw_nstep vc-relax ", nstep=3" ", celldm(1)=10.0" "" "ion_dynamics='damp'" "cell_dynamics='damp-w'" 0.26
run vcrelax_dampw_nstep
# Molecular dynamics: ending at nstep is their normal end.
si md_verlet md ", nstep=4, dt=20" "" "" "" ""; run md_verlet
si md_langevin md ", nstep=4, dt=20" ", nosym=.true." "" "ion_dynamics='langevin', tempw=300" ""
run md_langevin
# Without nosym, Langevin's random kicks break the symmetry pw.x found: checkallsym stops the run.
si md_langevin_sym md ", nstep=4, dt=20" "" "" "ion_dynamics='langevin', tempw=300" ""
run md_langevin_sym
si vcmd_w vc-md ", nstep=4, dt=20" "" "" "ion_dynamics='beeman'" "cell_dynamics='w'"; run vcmd_w
si vcmd_pr vc-md ", nstep=4, dt=20" "" "" "ion_dynamics='beeman'" "cell_dynamics='pr'"; run vcmd_pr
# Every diagonalizer of pw.x 6.7 on the same SCF.
for d in david cg ppcg paro; do si "scf_$d" scf "" "" ", diagonalization='$d'" "" "" 0.25; run "scf_$d"; done
# Two Fermi energies: fixed total magnetization with smearing.
si two_fermi scf "" ", nspin=2, tot_magnetization=0.5, occupations='smearing', smearing='mv', degauss=0.02" "" "" "" 0.25
run two_fermi
si two_fermi_relax relax "" ", nspin=2, tot_magnetization=0.5, occupations='smearing', smearing='mv', degauss=0.02" "" "" ""
run two_fermi_relax
# A hybrid functional (PBE0): inner and outer energies with '!' and '!!'; an scf and a relax.
si exx_scf scf "" ", input_dft='pbe0', nqx1=1, nqx2=1, nqx3=1, ecutfock=24" "" "" "" 0.25; run exx_scf
si exx_relax relax ", nstep=3" ", input_dft='pbe0', nqx1=1, nqx2=1, nqx3=1, ecutfock=24" "" "" ""; run exx_relax
# Runs cut by max_seconds (pw.x stops cleanly, "Maximum CPU time exceeded"): inside the first SCF cycle,
# and during a relaxation. Where the cut falls depends on the machine's speed.
si scf_walltime scf ", max_seconds=1" ", ecutwfc=40.0" "" "" "" 0.25
sed -i -e 's/^2 2 2 0 0 0/10 10 10 0 0 0/' "$work/scf_walltime.in"; run scf_walltime
si relax_walltime relax ", max_seconds=3" ", ecutwfc=40.0" "" "" ""
sed -i -e 's/^2 2 2 0 0 0/4 4 4 0 0 0/' "$work/relax_walltime.in"; run relax_walltime
echo "outputs written to $here"
