#!/bin/sh
# Stand-in for every QE program (pw.x, ph.x, ...) while extract_inputs.py runs an example script.
#
# Installed (as small wrappers setting QE_PROGRAM) in the directory the script sees as $BIN_DIR, first on
# $PATH. It records what the real program would have read — the file named by -i/-in/-inp/-input, else stdin —
# with the script line that ran it (QE_LINE, kept current by a bash DEBUG trap), its working directory and the
# file its stdout goes to. It then prints the matching reference output (the same file name in the example's
# reference folders, QE_REF_DIRS), so later steps that grep a previous output (nstates=`grep ... x.scf.out`)
# see what the real run printed. For wget and gnuplot it only records the call. Always exits 0.
#
# A record is one line of $QE_CAPTURE_DIR/log.tsv, tab-separated: program, script, line, cwd, stdin target,
# stdout target, input path, captured copy (a file in QE_CAPTURE_DIR, empty if unreadable), reference output
# used, arguments joined by \037. Shell, not Python: the examples call programs ~1100 times.
prog=${QE_PROGRAM:-${0##*/}}
stdin_target=$(readlink "/proc/$$/fd/0" 2>/dev/null)
stdout_target=$(readlink "/proc/$$/fd/1" 2>/dev/null)
input_flag=
prev=
args=
for a in "$@"; do
  case "$prev" in -i | -in | -inp | -input) input_flag=$a ;; esac
  prev=$a
  args="$args$a$(printf '\037')"
done
input_path=
capture=
case "$prog" in
  wget | gnuplot) ;;
  *)
    capture=$(mktemp "$QE_CAPTURE_DIR/XXXXXXXXXX.in")
    if [ -n "$input_flag" ]; then
      input_path=$(realpath -m -- "$input_flag")
      cat -- "$input_flag" > "$capture" 2>/dev/null || { rm -f "$capture"; capture=; }
    else
      input_path=$stdin_target
      cat > "$capture"
    fi
    ;;
esac
reference=
if [ -f "$stdout_target" ] && [ -n "$QE_REF_DIRS" ]; then
  base=${stdout_target##*/}
  old_ifs=$IFS
  IFS=:
  for d in $QE_REF_DIRS; do
    if [ -f "$d/$base" ]; then reference=$d/$base; cat "$reference"; break; fi
    if [ -f "$d/$base.gz" ]; then reference=$d/$base.gz; zcat "$reference"; break; fi
  done
  IFS=$old_ifs
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$prog" "$QE_SCRIPT" "$QE_LINE" "$PWD" "$stdin_target" \
  "$stdout_target" "$input_path" "${capture##*/}" "$reference" "$args" >> "$QE_CAPTURE_DIR/log.tsv"
exit 0
