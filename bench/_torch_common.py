# What every PyTorch peer script in bench/ shares: the threading set-up, and the few facts each run reports
# about itself (the threads it really used, the BLAS it really loaded, its peak memory).
#
# Debian's torch 1.13 has two thread pools that know nothing of each other:
#   - ATen's intra-op pool (OpenMP here): elementwise ops, softmax, layer norm, reductions, oneDNN;
#     sized by torch.set_num_threads / OMP_NUM_THREADS.
#   - OpenBLAS's own pthread pool (libopenblas0-pthread): every matmul (sgemm, as BLAS_INFO=generic);
#     sized by OPENBLAS_NUM_THREADS, read once when the library loads. torch.set_num_threads does not touch
#     it (it only forwards to MKL, which this build does not have).
# Giving both pools every core oversubscribes them: OpenMP's threads spin-wait at each barrier while
# OpenBLAS's threads want the same cores. On 2 cores that made nanoGPT's CPU step 208 ms against 73 ms for
# one OpenMP thread plus two OpenBLAS threads. A competent user gives the cores to one pool at a time, so
# the benches run each PyTorch case under each such configuration (bench/_common.ts, torchConfigs) and
# compare attn with the best.
#
# The caller sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS in the environment (OpenBLAS reads its variable
# when it loads, before any Python runs) and passes the same two numbers on the command line; configure()
# then sets torch's pool and checks that both pools really have the sizes asked for.
import ctypes
import resource

import torch


def _openblas():
    """The loaded OpenBLAS (any library in this process that exports openblas_get_num_threads), or None."""
    with open('/proc/self/maps') as f:
        paths = sorted({line.split()[-1] for line in f if 'blas' in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads  # raises AttributeError when it is another BLAS
            return path, lib
        except (OSError, AttributeError):
            continue
    return None


def configure(torch_threads, blas_threads):
    """Size both pools; returns the row's config name and a note, e.g. ('torch=1,openblas=2', 'OpenBLAS 0.3.21 pthread')."""
    torch.set_num_threads(torch_threads)
    a = torch.ones(64, 64)
    a @ a  # make sure the BLAS is loaded and initialised before asking it
    found = _openblas()
    if found is None:
        return f'torch={torch.get_num_threads()}', 'no OpenBLAS loaded'
    path, lib = found
    blas = lib.openblas_get_num_threads()
    if torch.get_num_threads() != torch_threads or blas != blas_threads:
        raise SystemExit(f'{__file__}: asked for torch={torch_threads},openblas={blas_threads} but got '
                         f'torch={torch.get_num_threads()},openblas={blas} ({path}); is OPENBLAS_NUM_THREADS set?')
    lib.openblas_get_config.restype = ctypes.c_char_p
    version = lib.openblas_get_config().decode().split(' ')[1]  # 'OpenBLAS 0.3.21 NO_LAPACKE ... Haswell ...'
    kind = {0: 'serial', 1: 'pthread', 2: 'openmp'}.get(lib.openblas_get_parallel(), '?')
    return f'torch={torch_threads},openblas={blas}', f'OpenBLAS {version} {kind}'


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def finish(out, config, blas_note):
    """Add what every run reports to a mode's result dict; the caller prints it as one JSON line."""
    out['peak_rss_mb'] = peak_rss_mb()
    out['torch'] = torch.__version__
    out['config'] = config
    out['blas'] = blas_note
    return out
