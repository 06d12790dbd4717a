#!/usr/bin/env bash
# End-to-end tests of the built `qecloud` binary: exit codes, messages and JSON as a user sees them.
# Usage: cli_test.sh QECLOUD_BINARY SOURCE_DIR
set -uo pipefail
qecloud=${1:?binary}; src=${2:?source dir}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0; fail=0
check() {  # check NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
run() { "$qecloud" "$@" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"; }
rc() { [ "$(cat "$work/rc")" = "$1" ]; }
out_has() { grep -qF -- "$1" "$work/out"; }
err_has() { grep -qF -- "$1" "$work/err"; }

run --help
check "help lists commands" eval 'rc 0 && out_has "validate" && out_has "parse"'
run valdate x
check "unknown command suggests" eval 'rc 2 && err_has "did you mean '"'"'validate'"'"'"'

run validate "$src/examples/si/scf.in"
check "seed input is valid" eval 'rc 0 && out_has "valid" && out_has "145 irreducible"'

run validate "$src/examples/si/scf.in" --json
check "validate --json" eval 'rc 0 && python3 -c "import json,sys; d=json.load(open(\"$work/out\")); assert d[\"valid\"] and d[\"needs\"][\"kpoints\"][\"irreducible\"]==145"'

cp "$src/examples/si/scf.in" "$work/scf.in"
run validate "$work/scf.in"
check "missing pseudopotential named with its line" eval 'rc 3 && err_has "scf.in:21:14: error:" && err_has "Si.pz-vbc.UPF"'

run validate "$work/does-not-exist.in"
check "unreadable input" eval 'rc 3 && err_has "does-not-exist.in"'

# Any file a user may name: refused at once, never read whole, never waited on. `timeout` only turns a hang
# into a failure (exit 124) instead of a stuck suite.
export QECLOUD_HOME="$work/qecloud-home"
mkfifo "$work/fifo.in"
timeout 60 "$qecloud" validate "$work/fifo.in" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "validate refuses a FIFO without blocking" eval 'rc 3 && err_has "fifo.in: error: is not a regular file (a FIFO)"'
timeout 60 "$qecloud" run "$work/fifo.in" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "run refuses a FIFO without blocking" eval 'rc 3 && err_has "is not a regular file (a FIFO)"'
run validate /dev/zero
check "validate refuses a device" eval 'rc 3 && err_has "/dev/zero: error: is not a regular file (a character device)"'
run validate "$work"
check "validate refuses a directory" eval 'rc 3 && err_has "error: is a directory, not a pw.x input file"'
truncate -s 17M "$work/huge.in"
run validate "$work/huge.in"
check "validate refuses a 17 MiB input unread" eval 'rc 3 && err_has "huge.in: error: is larger than 16 MiB"'

# The release that will run the input: the pw.x on PATH (Debian's 6.7), or --qe-version.
mkdir "$work/rmm" && cp "$src/examples/si/Si.pz-vbc.UPF" "$work/rmm/"
sed "s/diagonalization='cg'/diagonalization='rmm-davidson'/" "$src/examples/si/scf.in" >"$work/rmm/scf.in"
run validate "$work/rmm/scf.in"
check "validate judges for the local pw.x" eval 'rc 3 && err_has "diagonalization = '"'"'rmm-davidson'"'"' needs QE >= 7.0; the pw.x that will run this is 6.7 (/usr/bin/pw.x)"'
check "the local pw.x is asked once and cached" grep -q "/usr/bin/pw.x" "$QECLOUD_HOME/pw-versions.tsv"
run validate "$work/rmm/scf.in" --qe-version 7.0
check "validate --qe-version 7.0 accepts rmm-davidson" eval 'rc 0 && out_has "valid for QE 7.0 (--qe-version)"'
run validate "$work/rmm/scf.in" --qe-version 6.7 --json
check "validate --json names the release" eval 'rc 3 && python3 -c "import json; d=json.load(open(\"$work/out\")); assert d[\"qe_version\"]==dict(version=\"6.7\", source=\"--qe-version\"), d[\"qe_version\"]"'
run validate "$src/examples/si/scf.in" --qe-version seven
check "validate --qe-version refuses a non-release" eval 'rc 2 && err_has "--qe-version '"'"'seven'"'"'"'
PATH=/nonexistent-bin run validate "$src/examples/si/scf.in"
check "no pw.x: judged against every release, said in a note" eval 'rc 0 && err_has "note: no pw.x found and no --qe-version given: judged against every QE release from 6.5 to 7.5"'

# A real pw.x run, then parse it.
cp "$src/examples/si/scf.in" "$src/examples/si/Si.pz-vbc.UPF" "$work/"
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
(cd "$work" && mpirun "${root[@]}" -np 2 pw.x -nk 2 -in scf.in >scf.out 2>scf.err)
check "pw.x ran" test -s "$work/scf.out"
printed=$(grep '^!' "$work/scf.out" | tail -1 | awk '{print $5}')
run parse "$work/scf.out" --xml "$work/silicon.save/data-file-schema.xml" --json
check "parse --json agrees with pw.x's printed energy" eval 'rc 0 && python3 -c "import json; d=json.load(open(\"$work/out\")); assert \"%.8f\" % d[\"total_energy_ry\"] == \"$printed\", (d[\"total_energy_ry\"], \"$printed\"); assert d[\"job_done\"] and d[\"scf_converged\"]"'
run parse "$work/scf.out"
check "parse prints a summary" eval 'rc 0 && out_has "$printed"'
run parse "$work/nothing.out"
check "parse of a missing file fails clearly" eval '! rc 0 && err_has "nothing.out"'

# parse on the outputs of issue 16's cases, and on files that are not pw.x outputs.
cases="$src/tests/data/outputs-corpus/cases"
json_is() { python3 -c "import json,sys; d=json.load(open('$work/out')); sys.exit(0 if ($1) else 1)"; }
run parse "$cases/p8-relax_nstep_reached_not_flagged-qe7.1.out" --json
check "a relaxation stopped at nstep: ionic_not_converged, exit 4" eval 'rc 4 && json_is "d[\"error_kind\"] == \"ionic_not_converged\""'
p10="$cases/p10-truncated_xml_refuses_whole_parse-qe6.1"
run parse "$p10.out" --xml "$p10.data-file-schema.xml" --json
check "a damaged XML warns and stdout's results stand, exit 0" eval 'rc 0 && err_has "warning:" && err_has "data-file-schema.xml" && json_is "d[\"total_energy_ry\"] == -22.65168737 and d[\"job_done\"]"'
run parse "$cases/p11-ppcg_qr_failed_stop-qe7.4.out" --json
check "PPCG's stop line: diagonalization_failed, exit 6" eval 'rc 6 && json_is "d[\"error_kind\"] == \"diagonalization_failed\""'
run parse "$cases/p6-two_fermi_energies-qe6.6.out"
check "two Fermi energies shown" eval 'rc 0 && out_has "6.7565 eV (spin up), 5.6206 eV (spin down)"'
last=$(grep -n '^!' "$src/tests/data/outputs/si_relax.out" | tail -1 | cut -d: -f1)
{ head -n $((last - 1)) "$src/tests/data/outputs/si_relax.out"; printf '!    total energy              =     -15.6'; } > "$work/torn.out"
run parse "$work/torn.out" --json
check "a torn last line is not read: incomplete, exit 6" eval 'rc 6 && json_is "d[\"error_kind\"] == \"incomplete\" and d[\"total_energy_ry\"] != -15.6"'
: > "$work/empty.out"
run parse "$work/empty.out"
check "parse of an empty file: not a pw.x output, exit 3" eval 'rc 3 && err_has "empty.out: not a pw.x output: it is empty"'
printf 'hello\nworld\n' > "$work/notes.txt"
run parse "$work/notes.txt"
check "parse of a text file: not a pw.x output, exit 3" eval 'rc 3 && err_has "notes.txt: not a pw.x output"'
run parse "$work"
check "parse of a directory: exit 3" eval 'rc 3 && err_has "not a pw.x output: it is a directory"'
mkfifo "$work/pw.fifo"
timeout 60 "$qecloud" parse "$work/pw.fifo" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "parse of a FIFO nobody writes returns, exit 3" eval 'rc 3 && err_has "no writer"'
# 256 MiB without a newline through the FIFO: read with bounded memory (GNU time's peak RSS, KiB), refused.
(head -c 268435456 /dev/zero | tr '\0' x >"$work/pw.fifo") &
/usr/bin/time -f "%M" -o "$work/rss" "$qecloud" parse "$work/pw.fifo" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
wait
check "parse of a 256 MiB newline-free stream: under 64 MiB, exit 3" eval 'rc 3 && [ "$(tail -n 1 "$work/rss")" -lt 65536 ]'

# The node agent outside a job, and mpirun's launcher with nobody to talk to.
run agent
check "agent outside a multi-node job says why" eval 'rc 2 && err_has "AWS_BATCH_JOB_NODE_INDEX"'
run agent exec
check "agent exec without a host shows its usage" eval 'rc 2 && err_has "usage: qecloud agent exec"'
QECLOUD_JOB_SECRET=0123456789abcdefgh QECLOUD_AGENT_PORT=1 run agent exec 127.0.0.1 true
check "agent exec to no agent exits 255, as ssh does" eval 'rc 255 && err_has "no agent answers on 127.0.0.1:1"'
run run "$src/examples/si/scf.in" --nodes 2 --ranks 2
check "--nodes with --ranks is refused" eval 'rc 2 && err_has "with --nodes"'

# AWS Batch commands without AWS: configuration errors come before any call.
export QECLOUD_HOME="$work/home"; mkdir -p "$QECLOUD_HOME"
(cd "$work" && run infra up)
check "infra without qecloud.toml says what is needed" eval 'rc 2 && err_has "no qecloud.toml" && err_has "[aws]"'
cat >"$work/qecloud.toml" <<'TOML'
[aws]
region = "us-east-2"
bucket = "bucket-xxxxxxxxx"
subnets = ["subnet-0a1b2c3d"]
security_groups = ["sg-0a1b2c3d"]
instance_types = ["c5n.18xlarge"]
image = "1.dkr.ecr.us-east-2.amazonaws.com/qecloud:1"
TOML
(cd "$work" && run infra status)
check "a tutorial placeholder is refused with file:line" eval 'rc 2 && err_has "qecloud.toml:3: aws.bucket: '"'"'bucket-xxxxxxxxx'"'"' is a placeholder"'
run infra up --config "$work/qecloud.toml"
check "infra up --config after the subcommand reads that file" eval 'rc 2 && err_has "$work/qecloud.toml:3: aws.bucket:"'
(cd "$work" && run submit "$src/examples/si/scf.in" --nodes 3 --timeout 2fortnights)
check "submit refuses a bad --timeout" eval 'rc 2 && err_has "--timeout"'
(cd "$work" && run submit "$src/examples/si/scf.in" --backend local --nodes 2)
check "submit names the backends it has" eval 'rc 2 && err_has "only awsbatch, slurm submit"'
(cd "$work" && run submit "$src/examples/si/scf.in" --backend slurm --nodes 2 --timeout 1h)
check "a Slurm job refuses AWS Batch's --timeout" eval 'rc 2 && err_has "--timeout: the slurm backend does not take it"'
# The configured image's release, as `image test`/`image push` remembered it, judges a submit before any call.
sed 's/bucket-xxxxxxxxx/my-qe-results/' "$work/qecloud.toml" >"$work/good.toml"
cat >"$QECLOUD_HOME/images.json" <<'JSON'
{"1.dkr.ecr.us-east-2.amazonaws.com/qecloud:1": {"id": "0123", "digest": "sha256:0123", "labels": {"org.qecloud.qe-version": "6.7"}}}
JSON
run submit "$work/rmm/scf.in" --nodes 2 --config "$work/good.toml"
check "submit judges for the image's recorded release" eval 'rc 3 && err_has "needs QE >= 7.0; the pw.x that will run this is 6.7 (image 1.dkr.ecr.us-east-2.amazonaws.com/qecloud:1 as tested by \`qecloud image test\`)"'
rm "$QECLOUD_HOME/images.json"
# That job never reached AWS Batch: status, logs, cancel and fetch say so from its record, without an AWS call.
refused=$("$qecloud" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["job_id"])')
run status "$refused"
check "status of a never-submitted job shows its record" eval 'rc 0 && out_has "state     invalid — never submitted"'
run logs "$refused"
check "logs of a never-submitted job say why there are none" eval 'rc 0 && err_has "was never submitted to awsbatch (invalid"'
run cancel "$refused"
check "cancel of a never-submitted job: nothing to cancel" eval 'rc 0 && out_has "nothing to cancel"'
run fetch "$refused" --to "$work/never"
check "fetch of a never-submitted job: no outputs, a clear error" eval 'rc 1 && err_has "it has no outputs" && [ ! -e "$work/never" ]'
run status 20200101-000000-0000 --config "$work/qecloud.toml"
check "status of an unknown job" eval '! rc 0'
unset QECLOUD_HOME

# The job record tells the truth: what is not a pw.x input file is refused before anything is recorded.
export QECLOUD_HOME="$work/home-refusals"
mkdir -p "$work/a-directory.in"
run run "$work/a-directory.in"
check "run of a directory: exit 3, named as a directory" eval 'rc 3 && err_has "is a directory"'
run run "$work/missing.in"
check "run of a missing file: exit 3, named" eval 'rc 3 && err_has "missing.in: No such file"'
long="$work/$(printf 'x%.0s' $(seq 1 300)).in"
run run "$long"
check "run of an over-long path: exit 3" eval 'rc 3 && err_has "too long"'
run list --json
check "none of those was recorded" eval 'rc 0 && python3 -c "import json; assert json.load(open(\"$work/out\")) == []"'
run resume 20990101-000000-none
check "resume of a job that is not recorded names it" eval 'rc 2 && err_has "no job '"'"'20990101-000000-none'"'"'"'
run resume --help
check "resume --help says what it keeps" eval 'rc 0 && out_has "restart_mode" && out_has "same MPI layout"'
run show %
check "show % matches no job (a prefix is text, not a pattern)" eval 'rc 1 && err_has "no job '"'"'%'"'"'"'
run run "$src/examples/si/scf.in" --nodes 2 --join-timeout 0
check "--join-timeout 0 is refused up front" eval 'rc 2 && err_has "--join-timeout"'
run run "$src/examples/si/scf.in" --grace -1
check "--grace -1 is refused up front" eval 'rc 2 && err_has "--grace"'
run run "$src/examples/si/scf.in" --nodes 2 --pools 2
check "--nodes with --pools is refused" eval 'rc 2 && err_has "--pools"'
unset QECLOUD_HOME

# A read-only $QECLOUD_HOME: `list` still shows what is recorded and says why nothing is updated; a home
# without a database names the path it cannot write.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  ro="$work/home-readonly"; mkdir -p "$ro"
  python3 - "$ro/jobs.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT, input TEXT, backend TEXT, state TEXT, store_url TEXT, created_at TEXT, started_at TEXT, finished_at TEXT, exit_code INTEGER, layout TEXT, results TEXT, message TEXT, remote TEXT, owner TEXT, heartbeat_at TEXT)")
db.execute("CREATE TABLE transitions (job_id TEXT, state TEXT, at TEXT, note TEXT)")
db.execute("INSERT INTO jobs (id, name, state) VALUES ('20260101-000000-abcd', 'old.in', 'succeeded')")
db.commit()
PY
  chmod 755 "$work" "$ro"; chmod 644 "$ro/jobs.db"
  nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env QECLOUD_HOME="$1" "$qecloud" "${@:2}"; }
  nobody "$ro" list >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
  check "read-only home: list shows the jobs and says it is read-only" eval 'rc 0 && out_has "20260101-000000-abcd" && err_has "read-only"'
  empty="$work/home-readonly-empty"; mkdir -p "$empty"; chmod 755 "$empty"
  nobody "$empty" list >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
  check "read-only home without a database: the path is named" eval 'rc 1 && err_has "$empty"'
else
  check "read-only home tests need root and setpriv" false
fi

# `qecloud image`: the clear errors (the engines themselves run in integration.image). A fake podman stands in
# where an engine must answer.
run image dockerfile "$work/ctx"
check "image dockerfile writes a context" eval 'rc 0 && grep -q "^CMD \[\"qecloud\", \"agent\"\]$" "$work/ctx/Dockerfile" && ! grep -q "^ENTRYPOINT" "$work/ctx/Dockerfile" && [ -x "$work/ctx/qecloud" ]'
mkdir -p "$work/nobin"
PATH="$work/nobin" "$qecloud" image build "$work/ctx" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "image build without an engine names the command to install one" eval 'rc 1 && err_has "no container engine to use: podman (not installed), buildah (not installed), docker (not installed); install one: \`apt-get install podman\`"'
printf '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2; exit 1\n' >"$work/nobin/docker"; chmod +x "$work/nobin/docker"
PATH="$work/nobin" "$qecloud" image build "$work/ctx" --engine docker >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "docker without its daemon is named as such" eval 'rc 1 && err_has "docker (the client is here, its daemon does not answer)"'
rm "$work/nobin/docker"
cat >"$work/nobin/podman" <<'SH'
#!/bin/sh
# A podman whose build fails at its second step, and which has one image, qecloud:fake.
for a in "$@"; do case "$a" in
  build) echo "STEP 1/2: FROM docker.io/library/debian:bookworm-slim"; echo "STEP 2/2: RUN apt-get install -y nosuchpackage"
         echo "E: Unable to locate package nosuchpackage"
         echo 'Error: building at STEP "RUN apt-get install -y nosuchpackage": exit status 100' >&2; exit 1;;
  inspect) case "$*" in *qecloud:fake*) echo '[{"Id": "sha256:0123456789abcdef", "Size": 1, "Config": {"Labels": {}}}]'; exit 0;; esac
           echo "Error: qecloud:missing: image not known" >&2; exit 125;;
esac; done
exit 2
SH
chmod +x "$work/nobin/podman"
PATH="$work/nobin:/usr/bin:/bin" "$qecloud" image build "$work/ctx" >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "a failed build step is named with the engine's words" eval 'rc 1 && err_has "the image build failed (podman exit code 1) at STEP 2/2: RUN apt-get install -y nosuchpackage:" && err_has "E: Unable to locate package nosuchpackage"'
PATH="$work/nobin:/usr/bin:/bin" "$qecloud" image test qecloud:missing >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "image test of an image that is not there" eval 'rc 1 && err_has "no image '"'"'qecloud:missing'"'"' in podman'"'"'s store; build one with \`qecloud image build\`"'
PATH="$work/nobin:/usr/bin:/bin" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL_ECR=http://127.0.0.1:9 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true \
  "$qecloud" image push qecloud:fake >"$work/out" 2>"$work/err"; echo $? >"$work/rc"
check "image push with ECR unreachable: a clear error, nothing pushed" eval 'rc 1 && err_has "Amazon ECR'"'"'s API cannot be reached in us-east-1" && ! out_has "pushed"'
run image push qecloud:fake --repository Bad_Name
check "image push refuses a repository name ECR would" eval 'rc 2 && err_has "--repository '"'"'Bad_Name'"'"': an ECR repository name is 2 to 256 characters"'
run validate "$src/examples/si/scf.in" --image qecloud:never-tested
check "validate --image of an untested image says what to run" eval 'rc 2 && err_has "run \`qecloud image test qecloud:never-tested\` first"'
run run "$src/examples/si/scf.in" --image qecloud:fake
check "run --image needs --nodes" eval 'rc 2 && err_has "--image runs a multi-node rehearsal inside the image: give --nodes N"'
run image dockerfile "$src/examples/si/scf.in"
check "image dockerfile on a file: a usage error naming it" eval 'rc 2 && err_has "is a file; a build context is a directory"'
jobs_before=$("$qecloud" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
run run "$src/examples/si/scf.in" --pw /nonexistent/pw.x
jobs_after=$("$qecloud" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "run --pw with no such program: refused before a job is recorded" eval 'rc 2 && err_has "--pw: no program /nonexistent/pw.x" && [ "$jobs_before" = "$jobs_after" ]'

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
