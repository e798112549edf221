# Sourced by the MPI tests after setting MM: testlib.sh, a skip (exit 77, one line) when this machine
# can't run them, and `mpi N CMD...`: mpirun on localhost, as root too (CI runs as root).
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (apt-get install openmpi-bin libopenmpi-dev): the MPI scan was not tested"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# one machine: no network interfaces to probe, no shared-memory warnings about a small /dev/shm
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
MPI_FLAGS="--oversubscribe --bind-to none"
# under AddressSanitizer (SANITIZE=1): Open MPI's own allocations outlive MPI_Finalize by design, and
# LeakSanitizer would report them at every rank's exit; memory errors are still caught
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
fi
mpi() {
  local n=$1; shift
  mpirun $MPI_FLAGS -np "$n" "$@"
}
if "$MM" scan --mpi --db "$TMP/probe.db" "$TMP" 2>&1 | grep -q "built without MPI"; then
  echo "SKIP: this musicmap was built without MPI: the MPI scan was not tested"
  exit 77
fi
rm -f "$TMP"/probe.*
