// The operator interface used by every model component.
//
// Activations are contiguous f32 buffers; shapes are given explicitly and
// documented per op. Weights are Tensors in their checkpoint dtype. The CPU
// implementations live in src/kernels/cpu/ (ops_cpu.cc, conv_cpu.cc,
// attention_cpu.cc); a GPU backend implements the same functions. Each op has a
// `_ref` scalar reference used by the unit tests.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned.h"
#include "core/tensor.h"

namespace izwi {
class ThreadPool;
}

namespace izwi::ops {

// ---- dense ------------------------------------------------------------------
// y: [M, N] = x: [M, K] · W: [N, K]^T (+ bias: [N], may be null).
// W may be F32, BF16 or F16 (large M through a GEMM, small M through our GEMV /
// dot_rows kernels), or Q8 / Q4 (core/quant.h; activations quantized to int8
// per call). linear_ref multiplies with the exact (dequantized) weights in f32.
void linear(ThreadPool* pool, const float* x, int64_t M, int64_t K, const Tensor& W,
            const float* bias, float* y);
void linear_ref(const float* x, int64_t M, int64_t K, const Tensor& W, const float* bias, float* y);
// The linears `parts` ([N_i, K], one dtype) of the same x as one linear over
// their stacked rows: y [M, sum N_i], row m = [x W_0^T | x W_1^T | ...]. A
// decoding step reads every part in one parallel region (one barrier, not one
// per part), without a stacked copy of the weights; prompts run part by part.
void linear_stacked(ThreadPool* pool, const float* x, int64_t M, int64_t K,
                    const Tensor* const* parts, int count, float* y);

// C: [M, N] = op(A): [M, K] · op(B): [K, N], f32, row-major with leading
// dimensions; op(X) = X^T when trans_x (X then stored [K, M] or [N, K]). C is
// overwritten, or added to with `accumulate`. Our GEMM (kernels/cpu/gemm.h:
// AVX-512 or AVX2) where the CPU has one, else BLAS.
void gemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
          const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
          bool accumulate = false);
void gemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc);

// ---- convolutions over [channels, time] ------------------------------------------
// kReflect mirrors without repeating the edge (x[-1] = x[1]); the padding must be
// shorter than the input.
enum class PadMode { kZeros, kReplicate, kReflect };

struct Conv1dParams {
  int stride = 1;
  int dilation = 1;
  int groups = 1;  // 1, or == in_channels == out_channels (depthwise)
  int64_t pad_left = 0;
  int64_t pad_right = 0;
  PadMode pad_mode = PadMode::kZeros;
  bool accumulate = false;  // y += conv(x) + bias instead of y = (a residual added in place)
};

int64_t conv1d_out_len(int64_t T, int kernel, const Conv1dParams& p);

// Stride-1 convolutions to fewer output channels than this run directly (sums of
// shifted input rows) rather than through a GEMM, whose tiles would be mostly
// padding; their weights are best left unpacked (Conv1d::use_bf16 / use_packed).
inline constexpr int64_t kDirectConvMaxOut = 8;

// y: [Cout, T_out] = conv(x: [Cin, T], W: [Cout, Cin/groups, K]) + bias: [Cout] (may be null).
void conv1d(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout,
            int K, const float* bias, const Conv1dParams& p, float* y);
void conv1d_ref(const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout, int K,
                const float* bias, const Conv1dParams& p, float* y);

// y: [Cout, (T-1)*stride + K - trim_right] = conv_transpose(x: [Cin, T], W: [Cin, Cout, K]) + bias.
void conv_transpose1d(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                      int64_t Cout, int K, int stride, const float* bias, int64_t trim_right,
                      float* y);
void conv_transpose1d_ref(const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout,
                          int K, int stride, const float* bias, int64_t trim_right, float* y);

// ---- prepacked f32 convolutions (AVX-512 or AVX2) --------------------------------
// The codec decoder's weights repacked once at load into the GEMM kernel's
// panels (kernels/cpu/gemm.h), so no call packs them again: a streamed block
// then reads each weight once. Exact: the same f32 arithmetic as conv1d (from
// kDirectConvMaxOut output channels; conv1d sums fewer directly, in another order).
bool packed_convolutions_available();  // AVX2 + FMA or AVX-512 (as IZWI_ISA allows)

struct PackedConvWeights {
  std::vector<float> panels;  // [Cout, Cin * K] (transposed convolution: [Cout * K, Cin])
  int64_t cin = 0, cout = 0;
  int kernel = 0;
  bool empty() const { return panels.empty(); }
};
// From conv1d weights W: [Cout, Cin, K] (groups 1).
PackedConvWeights pack_conv1d_f32(const float* W, int64_t Cout, int64_t Cin, int K);
// From conv_transpose1d weights W: [Cin, Cout, K].
PackedConvWeights pack_conv_transpose1d_f32(const float* W, int64_t Cin, int64_t Cout, int K);
// conv1d / conv_transpose1d with packed weights (conv1d: stride 1, groups 1).
void conv1d_packed(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                   const PackedConvWeights& W, int64_t Cout, int K, const float* bias,
                   const Conv1dParams& p, float* y);
void conv_transpose1d_packed(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                             const PackedConvWeights& W, int64_t Cout, int K, int stride,
                             const float* bias, int64_t trim_right, float* y);
// linear (y [M, N] = x [M, K] W^T + bias) with W packed as a kernel-1
// convolution (pack_conv1d_f32(W, N, K, 1)): x is transposed into a [K, M]
// signal, convolved, and the result transposed back. For the codec's f32
// linears, whose weights the plain GEMM would otherwise repack on every call.
void linear_packed(ThreadPool* pool, const float* x, int64_t M, const PackedConvWeights& W,
                   const float* bias, float* y);

// ---- Winograd convolutions (f32, AVX-512 or AVX2) ---------------------------------
// The codec decoder's fast mode where there are no bf16 products: a stride-1
// convolution of kernel K computed by Winograd's F(6, K) (kernels/cpu/
// conv_winograd.cc), K + 5 GEMMs over a sixth of the time axis instead of K
// over all of it. Not exact: the transforms round differently from the direct
// sums (about 1e-5 of the output's scale for K = 7).

// The F(m, K) transforms for one tile of m outputs from n = m + K - 1 inputs:
// y = AT [(G w) .* (BT u)], row-major G [n, K], BT [n, n], AT [m, n].
struct WinogradTransforms {
  int m = 0, K = 0, n = 0;
  std::vector<double> g, bt, at;
};
WinogradTransforms winograd_transforms(int m, int K);

// Whether conv1d_winograd takes this convolution (our GEMM on this CPU, K in 2..7).
bool winograd_conv_supported(int64_t Cout, int K);

struct WinogradConvWeights {
  int m = 0, n = 0;           // outputs and inputs per tile (winograd_transforms(m, kernel))
  std::vector<float> bt, at;  // its input and output transforms, in f32
  std::vector<float> panels;  // per point p: U_p = G_p . W [Cout, Cin], packed as a GEMM's A
  int64_t point_stride = 0;   // floats between the points' panels
  int64_t cin = 0, cout = 0;
  int kernel = 0;
  bool empty() const { return panels.empty(); }
};
// From conv1d weights W: [Cout, Cin, K] (groups 1).
WinogradConvWeights pack_conv1d_winograd(const float* W, int64_t Cout, int64_t Cin, int K);
// conv1d through them: stride 1, groups 1, zero padding, any dilation; same
// shapes as conv1d (p.accumulate adds to y).
void conv1d_winograd(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                     const WinogradConvWeights& W, int64_t Cout, const float* bias,
                     const Conv1dParams& p, float* y);

// A transposed convolution whose kernel is J = K / stride whole strides (the
// codec decoder's upsamplers: K = 2 * stride) is `stride` interleaved J-tap
// convolutions of x, one per output phase p: y[t * stride + p] = sum_j
// W[:, :, p + j * stride]^T x[t - j]. Stacked, the phases are one stride-1
// convolution Cin -> Cout * stride of kernel J, run by F(6, J): (J + 5) / 6
// products per input sample where the GEMM form makes J (F(6, 2): 1.17 vs 2).
bool winograd_conv_transpose_supported(int64_t Cout, int K, int stride);
// From conv_transpose1d weights W: [Cin, Cout, K]; the result's cout is
// Cout * stride (row co * stride + p: output phase p of channel co), its kernel J.
WinogradConvWeights pack_conv_transpose1d_winograd(const float* W, int64_t Cin, int64_t Cout, int K,
                                                   int stride);
// conv_transpose1d through them: same shapes and result (bias may be null).
void conv_transpose1d_winograd(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                               const WinogradConvWeights& W, int64_t Cout, int stride,
                               const float* bias, int64_t trim_right, float* y);

// ---- bf16 convolutions (AMX tiles, or AVX512-BF16) --------------------------------
// The codec decoder's fast mode: weights converted to bf16 once, inputs rounded
// to bf16 as they are packed, products accumulated in f32. Not exact (about 3
// significant digits per product); the f32 convolutions above are.
// AMX-BF16 on this CPU, granted by the OS, or AVX512-BF16 (AMD Zen 4 and later).
bool bf16_convolutions_available();
// Which bf16 kernel runs: "amx", "avx512-bf16", or "" (none). Their sums round
// differently, so a state kept from one is not the other's.
const char* bf16_convolution_kernel();

// Convolution weights packed once for the bf16 kernels (the AMX tile layout,
// kernels/cpu/gemm_amx.h): the right operand of signal (time-major) x weights.
struct Bf16ConvWeights {
  AlignedVector<uint16_t> packed;  // on cache lines: the kernels load 64-byte rows
  int64_t cin = 0, cout = 0;       // for a transposed convolution: cout = out channels x kernel
  int kernel = 0;
  bool empty() const { return packed.empty(); }
};
// Whether the bf16 kernels take this shape: Cin a multiple of 32.
bool bf16_conv_supported(int64_t Cin);
// From conv1d weights W: [Cout, Cin, K].
Bf16ConvWeights pack_conv1d_bf16(const float* W, int64_t Cout, int64_t Cin, int K);
// From conv_transpose1d weights W: [Cin, Cout, K].
Bf16ConvWeights pack_conv_transpose1d_bf16(const float* W, int64_t Cin, int64_t Cout, int K);

// SnakeBeta applied to a convolution's input as it is read (the codec
// decoder's activations; as snake_beta, per input channel). Null: none.
struct InputSnake {
  const float* alpha = nullptr;
  const float* inv_beta = nullptr;
};

// A streaming convolution's history: the `length` samples of each input
// channel just before x ([Cin, length]), read in place of the left padding.
struct LeftContext {
  const float* x = nullptr;
  int64_t length = 0;
};

// y: [Cout, T] = the causal stride-1 convolution of x: [Cin, T] (groups 1, W
// plain [Cout, Cin, K]) whose left padding of (K - 1) * dilation samples is
// `left` (zeros when left.x is null), plus bias (may be null): the form
// conv1d takes below kDirectConvMaxOut output channels, for streams.
void conv1d_direct(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                   int64_t Cout, int K, int dilation, const float* bias, LeftContext left,
                   float* y);

// conv1d with packed weights: stride 1, groups 1, zero padding (or `left` for
// the first p.pad_left <= left.length of it). Same shapes as conv1d; with
// p.accumulate each output is added to y where it is stored.
void conv1d_bf16(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const Bf16ConvWeights& W,
                 int64_t Cout, int K, const float* bias, const Conv1dParams& p, float* y,
                 InputSnake act = {}, LeftContext left = {});
void conv_transpose1d_bf16(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                           const Bf16ConvWeights& W, int64_t Cout, int K, int stride,
                           const float* bias, int64_t trim_right, float* y, InputSnake act = {});
// linear (y [M, N] = x [M, K] W^T + bias) with W packed as a kernel-1
// convolution (pack_conv1d_bf16(W, N, K, 1)) and x rounded to bf16: the codec
// decoder's linears in its bf16 mode.
void linear_bf16(ThreadPool* pool, const float* x, int64_t M, const Bf16ConvWeights& W,
                 const float* bias, float* y);

// ---- normalisation (over the last dimension of [rows, dim]) ----------------------------
void layer_norm(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                float eps, float* y);
void rms_norm(const float* x, int64_t rows, int64_t dim, const float* weight, float eps, float* y);

// ---- activations (in place) ------------------------------------------------------
void gelu_erf(float* x, int64_t n);  // exact GELU, 0.5 x (1 + erf(x / sqrt 2))
void silu(float* x, int64_t n);
void elu(ThreadPool* pool, float* x, int64_t n);  // alpha = 1; split over the pool
// SnakeBeta on x: [C, T]: x += inv_beta[c] * sin(alpha[c] * x)^2, with alpha = exp(log_alpha)
// and inv_beta = 1 / (exp(log_beta) + 1e-9) precomputed by the caller.
void snake_beta(ThreadPool* pool, float* x, int64_t C, int64_t T, const float* alpha,
                const float* inv_beta);
void snake_beta_ref(float* x, int64_t C, int64_t T, const float* alpha, const float* inv_beta);

// ---- attention --------------------------------------------------------------------
// Rotary embedding, "rotate half" layout (pairs i and i + head_dim/2), in place on
// x: [T, heads, head_dim]; row t has position first_pos + t.
void rope_rotate_half(float* x, int64_t T, int64_t heads, int64_t head_dim, int64_t first_pos,
                      float theta);

// Same, with an explicit position per row (positions: [T]).
void rope_rotate_half_at(float* x, int64_t T, int64_t heads, int64_t head_dim,
                         const int64_t* positions, float theta);

// Attention of T new queries against a KV cache (the one-token attention of
// decoding when T == 1). q: [T, n_heads * head_dim]; k, v: [S, n_kv_heads * head_dim]
// with the new keys already appended at rows S - T .. S - 1; query t sees keys
// 0 .. S - T + t whose `key_valid` entry is non-zero (null: all valid), and with
// `window` > 0 only the last `window` of those (itself included). A query with no
// valid key gets zeros. No allocation per call (scores live in a per-thread buffer).
void attention_cached(ThreadPool* pool, const float* q, const float* k, const float* v, int64_t T,
                      int64_t S, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                      const uint8_t* key_valid, float* out, int64_t window = 0);
void attention_cached_ref(const float* q, const float* k, const float* v, int64_t T, int64_t S,
                          int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                          const uint8_t* key_valid, float* out, int64_t window = 0);

// attention_cached for several sequences at once (a batch of streams, each
// with its own KV cache): run r's T queries against its S keys, as one loop
// over all of them, each run's output as attention_cached gives it alone.
struct AttentionRun {
  const float* q;  // [T, n_heads * head_dim]
  const void* k;   // [S, n_kv_heads * head_dim] of `kv`, the new keys at rows S - T .. S - 1
  const void* v;   // likewise
  int64_t S;
  const uint8_t* key_valid;  // [S] or null
  float* out;                // [T, n_heads * head_dim]
  // The cache's elements: kF32, or kF16 (bits widened exactly as they are
  // read; the results are attention_cached's over the widened cache).
  DType kv = DType::kF32;
};
void attention_cached_runs(ThreadPool* pool, const AttentionRun* runs, int64_t count, int64_t T,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                           int64_t window = 0);

// out[i] = x[i] as f16 bits (rounded to nearest even, clamped to +-65504):
// rows appended to a half-precision KV cache.
void to_f16(const float* x, int64_t n, uint16_t* out);

// Causal self-attention with grouped KV heads and an optional sliding window
// (query i sees keys max(0, i - window + 1) .. i; window <= 0: all of 0 .. i).
// q: [T, n_heads * head_dim], k, v: [T, n_kv_heads * head_dim], out: [T, n_heads * head_dim].
void attention_causal(ThreadPool* pool, const float* q, const float* k, const float* v, int64_t T,
                      int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t window,
                      float* out);
void attention_causal_ref(const float* q, const float* k, const float* v, int64_t T,
                          int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t window,
                          float* out);

}  // namespace izwi::ops
