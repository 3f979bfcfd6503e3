// aigrid's CUDA kernels, compiled at run time by NVRTC (kernels/src/cuda/module.rs), with
// fused multiply-add contraction off so that arithmetic rounds as the CPU kernels' does.
// Each template is instantiated for f32 and f64 (and i64 for layout) as `extern "C"` entry
// points named `<kernel>_<dtype>`. Sizes and offsets are 64-bit; loops stride over the grid.

typedef unsigned long long u64;
typedef long long i64;

#define EACH(i, n) for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); \
                        i += (u64)blockDim.x * gridDim.x)
#define EACH_ROW(r, rows) for (u64 r = blockIdx.x; r < (rows); r += gridDim.x)

__device__ __forceinline__ float ag_exp(float x) { return expf(x); }
__device__ __forceinline__ double ag_exp(double x) { return exp(x); }
__device__ __forceinline__ float ag_log(float x) { return logf(x); }
__device__ __forceinline__ double ag_log(double x) { return log(x); }
__device__ __forceinline__ float ag_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double ag_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float ag_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double ag_sqrt(double x) { return sqrt(x); }

// The codes of aigrid_kernels::Unary and ::Binary, in declaration order.
template <typename T> __device__ __forceinline__ T unary_op(int op, T x) {
    switch (op) {
    case 0: return -x;
    case 1: return ag_exp(x);
    case 2: return ag_log(x);
    case 3: return x > T(0) ? x : T(0);
    case 4: {
        T inner = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
        return T(0.5) * x * (T(1) + ag_tanh(inner));
    }
    default: return T(1) / (T(1) + ag_exp(-x));
    }
}

template <typename T> __device__ __forceinline__ T binary_op(int op, T a, T b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
    }
}

#ifndef AG_FUSED_ONLY

template <typename T> __device__ void unary_k(const T* x, T* out, u64 n, int op) {
    EACH(i, n) out[i] = unary_op(op, x[i]);
}

template <typename T> __device__ void scale_k(const T* x, T* out, u64 n, T factor) {
    EACH(i, n) out[i] = x[i] * factor;
}

template <typename T> __device__ void binary_k(const T* a, const T* b, T* out, u64 n, int op) {
    EACH(i, n) out[i] = binary_op(op, a[i], b[i]);
}

// `dims` holds the result's shape, then `a`'s strides, then `b`'s (0 along broadcast axes).
template <typename T>
__device__ void broadcast_k(const T* a, const T* b, T* out, u64 n, int op, const u64* dims,
                            int rank) {
    EACH(i, n) {
        u64 rest = i, at_a = 0, at_b = 0;
        for (int d = rank - 1; d >= 0; --d) {
            u64 k = rest % dims[d];
            rest /= dims[d];
            at_a += k * dims[rank + d];
            at_b += k * dims[2 * rank + d];
        }
        out[i] = binary_op(op, a[at_a], b[at_b]);
    }
}

// Reductions, codes of aigrid_kernels::Reduce: 0 sum, 1 mean, 2 max, 3 min, 4 argmax.
// Over `[outer, n, inner]` with inner > 1: a thread per result, the axis read in order, as
// the CPU kernel reads it.
template <typename T>
__device__ void reduce_strided_k(const T* x, T* out, i64* arg, u64 outer, u64 n, u64 inner,
                                 int op) {
    EACH(t, outer * inner) {
        const T* p = x + (t / inner) * n * inner + t % inner;
        if (op <= 1) {
            T sum = T(0);
            for (u64 i = 0; i < n; ++i) sum = sum + p[i * inner];
            out[t] = op == 1 ? sum / T((double)n) : sum;
        } else {
            T best = p[0];
            u64 at = 0;
            for (u64 i = 1; i < n; ++i) {
                T v = p[i * inner];
                if (op == 3 ? v < best : v > best) { best = v; at = i; }
            }
            out[t] = best;
            arg[t] = (i64)at;
        }
    }
}

// Whether (v, i) goes before (best, at) in a max (or min) over a row: the better value, the
// lower index on ties; `none` (an index of n) marks a partial result with no value yet.
template <typename T>
__device__ __forceinline__ bool better(int op, T v, u64 i, T best, u64 at, u64 none) {
    if (i == none) return false;
    if (at == none) return true;
    if (op == 3 ? v < best : v > best) return true;
    return v == best && i < at;
}

// Reductions over contiguous rows (inner == 1): a block per row, a tree in shared memory. As
// on the CPU, a NaN in a row's first place is the max (min) and any other NaN is passed over.
template <typename T>
__device__ void reduce_rows_k(const T* x, T* out, i64* arg, u64 rows, u64 n, int op) {
    extern __shared__ unsigned char shared[];
    u64* at = (u64*)shared;
    T* value = (T*)(at + blockDim.x);
    unsigned tid = threadIdx.x;
    EACH_ROW(r, rows) {
        const T* p = x + r * n;
        T v = T(0);
        u64 i_v = n;
        if (op <= 1) {
            for (u64 i = tid; i < n; i += blockDim.x) v = v + p[i];
        } else {
            for (u64 i = tid; i < n; i += blockDim.x) {
                T y = p[i];
                if (y == y && better(op, y, i, v, i_v, n)) { v = y; i_v = i; }
            }
        }
        value[tid] = v;
        at[tid] = i_v;
        __syncthreads();
        for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) {
                if (op <= 1) {
                    value[tid] = value[tid] + value[tid + s];
                } else if (better(op, value[tid + s], at[tid + s], value[tid], at[tid], n)) {
                    value[tid] = value[tid + s];
                    at[tid] = at[tid + s];
                }
            }
            __syncthreads();
        }
        if (tid == 0) {
            if (op <= 1) {
                out[r] = op == 1 ? value[0] / T((double)n) : value[0];
            } else if (p[0] != p[0] || at[0] == n) {
                out[r] = p[0];
                arg[r] = 0;
            } else {
                out[r] = value[0];
                arg[r] = (i64)at[0];
            }
        }
        __syncthreads();
    }
}

// The block's sum (op 0) or max (op 2) of `v`, for every thread of the block.
template <typename T> __device__ T block_reduce(T* scratch, T v, int op) {
    unsigned tid = threadIdx.x;
    scratch[tid] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            T other = scratch[tid + s];
            scratch[tid] = op == 0 ? scratch[tid] + other
                                   : (scratch[tid] >= other ? scratch[tid] : other);
        }
        __syncthreads();
    }
    T result = scratch[0];
    __syncthreads();
    return result;
}

// Softmax over rows of `width`: exp(x - max) / sum, a block per row.
template <typename T> __device__ void softmax_k(const T* x, T* out, u64 rows, u64 width) {
    extern __shared__ unsigned char shared[];
    T* scratch = (T*)shared;
    EACH_ROW(r, rows) {
        const T* p = x + r * width;
        T* o = out + r * width;
        T max = p[0];
        for (u64 i = threadIdx.x; i < width; i += blockDim.x) max = max >= p[i] ? max : p[i];
        max = block_reduce(scratch, max, 2);
        T sum = T(0);
        for (u64 i = threadIdx.x; i < width; i += blockDim.x) {
            T e = ag_exp(p[i] - max);
            o[i] = e;
            sum = sum + e;
        }
        sum = block_reduce(scratch, sum, 0);
        for (u64 i = threadIdx.x; i < width; i += blockDim.x) o[i] = o[i] / sum;
    }
}

// Each row of `width` divided by its Euclidean norm (a zero row stays zero), a block per row.
template <typename T> __device__ void l2_normalize_k(const T* x, T* out, u64 rows, u64 width) {
    extern __shared__ unsigned char shared[];
    T* scratch = (T*)shared;
    EACH_ROW(r, rows) {
        const T* p = x + r * width;
        T sum = T(0);
        for (u64 i = threadIdx.x; i < width; i += blockDim.x) sum = sum + p[i] * p[i];
        sum = block_reduce(scratch, sum, 0);
        T scale = sum > T(0) ? T(1) / ag_sqrt(sum) : T(0);
        for (u64 i = threadIdx.x; i < width; i += blockDim.x) out[r * width + i] = p[i] * scale;
    }
}

// The `k` largest values of each row of `width`, largest first (ties: the lower index first),
// and their indices: a thread per row, inserting into the row's sorted result.
template <typename T>
__device__ void topk_k(const T* x, T* values, i64* indices, u64 rows, u64 width, u64 k) {
    EACH(r, rows) {
        const T* p = x + r * width;
        T* v = values + r * k;
        i64* at = indices + r * k;
        u64 count = 0;
        for (u64 i = 0; i < width; ++i) {
            T y = p[i];
            if (count == k && !(y > v[k - 1])) continue;
            u64 place = count < k ? count : k - 1;
            while (place > 0 && y > v[place - 1]) {
                v[place] = v[place - 1];
                at[place] = at[place - 1];
                --place;
            }
            v[place] = y;
            at[place] = (i64)i;
            if (count < k) ++count;
        }
    }
}

// out[i] = x[offset of i]: the result's shape in dims[0..rank], the strides at which its axes
// read `x` in dims[rank..2 rank].
template <typename T> __device__ void permute_k(const T* x, T* out, u64 n, const u64* dims, int rank) {
    EACH(i, n) {
        u64 rest = i, from = 0;
        for (int d = rank - 1; d >= 0; --d) {
            from += (rest % dims[d]) * dims[rank + d];
            rest /= dims[d];
        }
        out[i] = x[from];
    }
}

// For each of `outer` blocks of `block` elements: out[o * out_row + out_at + j] =
// x[o * in_row + in_at + j]. Concat and slice are both this copy.
template <typename T>
__device__ void copy_blocks_k(const T* x, T* out, u64 outer, u64 block, u64 in_row, u64 in_at,
                              u64 out_row, u64 out_at) {
    EACH(t, outer * block) {
        u64 o = t / block, j = t % block;
        out[o * out_row + out_at + j] = x[o * in_row + in_at + j];
    }
}

#define FLOAT_KERNELS(T, S)                                                                     \
    extern "C" __global__ void unary_##S(const T* x, T* out, u64 n, int op) {                  \
        unary_k(x, out, n, op);                                                                 \
    }                                                                                           \
    extern "C" __global__ void scale_##S(const T* x, T* out, u64 n, T f) { scale_k(x, out, n, f); } \
    extern "C" __global__ void binary_##S(const T* a, const T* b, T* out, u64 n, int op) {     \
        binary_k(a, b, out, n, op);                                                             \
    }                                                                                           \
    extern "C" __global__ void broadcast_##S(const T* a, const T* b, T* out, u64 n, int op,    \
                                             const u64* dims, int rank) {                       \
        broadcast_k(a, b, out, n, op, dims, rank);                                              \
    }                                                                                           \
    extern "C" __global__ void reduce_strided_##S(const T* x, T* out, i64* arg, u64 outer,     \
                                                  u64 n, u64 inner, int op) {                   \
        reduce_strided_k(x, out, arg, outer, n, inner, op);                                     \
    }                                                                                           \
    extern "C" __global__ void reduce_rows_##S(const T* x, T* out, i64* arg, u64 rows, u64 n,  \
                                               int op) {                                        \
        reduce_rows_k(x, out, arg, rows, n, op);                                                \
    }                                                                                           \
    extern "C" __global__ void softmax_##S(const T* x, T* out, u64 rows, u64 width) {          \
        softmax_k(x, out, rows, width);                                                         \
    }                                                                                           \
    extern "C" __global__ void l2_normalize_##S(const T* x, T* out, u64 rows, u64 width) {     \
        l2_normalize_k(x, out, rows, width);                                                    \
    }                                                                                           \
    extern "C" __global__ void topk_##S(const T* x, T* values, i64* indices, u64 rows,         \
                                        u64 width, u64 k) {                                     \
        topk_k(x, values, indices, rows, width, k);                                             \
    }

#define LAYOUT_KERNELS(T, S)                                                                    \
    extern "C" __global__ void permute_##S(const T* x, T* out, u64 n, const u64* dims,         \
                                           int rank) {                                          \
        permute_k(x, out, n, dims, rank);                                                       \
    }                                                                                           \
    extern "C" __global__ void copy_blocks_##S(const T* x, T* out, u64 outer, u64 block,       \
                                               u64 in_row, u64 in_at, u64 out_row,              \
                                               u64 out_at) {                                    \
        copy_blocks_k(x, out, outer, block, in_row, in_at, out_row, out_at);                    \
    }

FLOAT_KERNELS(float, f32)
FLOAT_KERNELS(double, f64)
LAYOUT_KERNELS(float, f32)
LAYOUT_KERNELS(double, f64)
LAYOUT_KERNELS(i64, i64)

#endif
