// The blocked GEMM shared by the ISA files (gemm_avx512.cc, gemm_avx2.cc).
//
// Include it only inside an anonymous namespace: each ISA file then gets its
// own copy, compiled for its instruction set (one shared definition would let
// the linker hand AVX-512 code to an AVX2 CPU). `Tile` supplies the register
// tile kMr x kNr, the A block height kMc (a multiple of kMr), the packing of B
// panels (pack_b) and the micro-kernel (micro):
//
//   C (+)= A B: B is packed into panels of kNr columns (k-major), A into panels
//   of kMr rows (k-major), and a kMr x kNr tile of C held in registers is
//   updated by broadcast-FMA over a K block of kKc. Edges are zero-padded in the
//   packed panels and masked when C is written. A may be prepacked once
//   (weights at load); B may be the column matrix of a stride-1 convolution,
//   read straight from the signal while it is packed (no im2col copy). Packing
//   buffers are per thread and reused.

constexpr int64_t kKc = 256, kNc = 2048;

struct Matrix {
  const void* p;
  int64_t ld;
  bool trans;  // element (r, c) is stored at c * ld + r
  GemmType type = GemmType::kF32;
  // A only: already in panels (pack_a_whole's layout), so never packed here.
  bool packed = false;
  // A convolution's column matrix (not transposed): row r = (c, tap) starts at
  // c * ld + tap * dilation of the signal [channels, ld]. taps == 1: plain rows.
  int taps = 1;
  int64_t dilation = 0;
  int64_t row_start(int64_t r) const {
    return taps == 1 ? r * ld : (r / taps) * ld + (r % taps) * dilation;
  }
  // Element (r, c) of an f32 matrix (A, or B where an ISA packs it element-wise).
  float at(int64_t r, int64_t c) const {
    return static_cast<const float*>(p)[trans ? c * ld + r : r * ld + c];
  }
};

template <class Tile>
struct BlockedGemm {
  static constexpr int64_t kMr = Tile::kMr, kNr = Tile::kNr, kMc = Tile::kMc;
  static_assert(kMc % kMr == 0, "A blocks hold whole panels");

  // A[m0 .. m0+mc, k0 .. k0+kc] -> panels of kMr rows: out[panel * panel_stride + k * kMr + r];
  // panel_stride is kc * kMr in a block, K * kMr in a prepacked matrix.
  static void pack_a(const Matrix& a, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* out,
                     int64_t panel_stride) {
    for (int64_t i = 0; i < mc; i += kMr) {
      float* panel = out + (i / kMr) * panel_stride;
      const int64_t rows = std::min(kMr, mc - i);
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t r = 0; r < rows; ++r) panel[k * kMr + r] = a.at(m0 + i + r, k0 + k);
        for (int64_t r = rows; r < kMr; ++r) panel[k * kMr + r] = 0.0f;
      }
    }
  }

  // C[m_begin .. m_end, n_begin .. n_end] (+)= A B over the whole K.
  static void block(const Matrix& a, const Matrix& b, int64_t K, float* c, int64_t ldc,
                    int64_t m_begin, int64_t m_end, int64_t n_begin, int64_t n_end,
                    bool accumulate) {
    thread_local ThreadScratch<std::vector<float>> pa, pb;
    if (!a.packed) pa.resize(static_cast<size_t>(kMc * kKc));
    pb.resize(static_cast<size_t>(kKc * (kNc + kNr)));
    for (int64_t n0 = n_begin; n0 < n_end; n0 += kNc) {
      const int64_t nc = std::min(kNc, n_end - n0);
      for (int64_t k0 = 0; k0 < K; k0 += kKc) {
        const int64_t kc = std::min(kKc, K - k0);
        Tile::pack_b(b, k0, kc, n0, nc, pb.data());
        for (int64_t m0 = m_begin; m0 < m_end; m0 += kMc) {
          const int64_t mc = std::min(kMc, m_end - m0);
          // Panel i of this A block: a prepacked one has K, not kc, between panels.
          const float* blk = pa.data();
          int64_t panel_stride = kc * kMr;
          if (a.packed) {
            blk = static_cast<const float*>(a.p) + (m0 * K + k0 * kMr);
            panel_stride = K * kMr;
          } else {
            pack_a(a, m0, mc, k0, kc, pa.data(), panel_stride);
          }
          for (int64_t j = 0; j < nc; j += kNr)
            for (int64_t i = 0; i < mc; i += kMr)
              Tile::micro(blk + (i / kMr) * panel_stride, pb.data() + j * kc, kc,
                          c + (m0 + i) * ldc + n0 + j, ldc, std::min(kMr, mc - i),
                          std::min(kNr, nc - j), accumulate || k0 > 0);
        }
      }
    }
  }

  // Splits C over the pool by rows (M) or columns (N). Every thread reads (and,
  // unless prepacked, packs) all of the operand along the other dimension, so
  // the split goes along the larger one: M when A [M, K] outweighs B [K, N].
  static void run(ThreadPool* pool, const Matrix& a, const Matrix& b, int64_t M, int64_t N,
                  int64_t K, float* C, int64_t ldc, bool accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
      if (!accumulate)
        for (int64_t m = 0; m < M; ++m) std::fill_n(C + m * ldc, N, 0.0f);
      return;
    }
    const int threads = pool ? pool->size() : 1;
    const int64_t n_panels = (N + kNr - 1) / kNr, m_panels = (M + kMr - 1) / kMr;
    const bool split_m = m_panels >= 2 * threads && (M > N || n_panels < 2 * threads);
    if (!split_m) {
      parallel_for(pool, n_panels, 1, [&](int64_t p0, int64_t p1) {
        block(a, b, K, C, ldc, 0, M, p0 * kNr, std::min(N, p1 * kNr), accumulate);
      });
    } else {
      parallel_for(pool, m_panels, 1, [&](int64_t p0, int64_t p1) {
        block(a, b, K, C, ldc, p0 * kMr, std::min(M, p1 * kMr), 0, N, accumulate);
      });
    }
  }

  // op(A) [M, K] in panels of kMr rows spanning the whole K (the last one zero-padded).
  static std::vector<float> pack_a_whole(bool trans_a, int64_t M, int64_t K, const float* A,
                                         int64_t lda) {
    std::vector<float> out(static_cast<size_t>((M + kMr - 1) / kMr * kMr * K));
    const Matrix a{A, lda, trans_a};
    for (int64_t m0 = 0; m0 < M; m0 += kMr)
      pack_a(a, m0, std::min(kMr, M - m0), 0, K, out.data() + m0 * K, K * kMr);
    return out;
  }

  // The entry points of a GemmKernels table (kernels/cpu/gemm.h).
  static void gemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t lda, const void* B, int64_t ldb, float* C, int64_t ldc,
                   GemmType b_type, bool accumulate) {
    run(pool, Matrix{A, lda, trans_a}, Matrix{B, ldb, trans_b, b_type}, M, N, K, C, ldc,
        accumulate);
  }
  static void gemm_packed_a(ThreadPool* pool, int64_t M, int64_t N, int64_t K,
                            const float* packed_a, const float* B, int64_t ldb, float* C,
                            int64_t ldc, bool accumulate) {
    Matrix a{packed_a, 0, false};
    a.packed = true;
    run(pool, a, Matrix{B, ldb, false}, M, N, K, C, ldc, accumulate);
  }
  static void conv_gemm(ThreadPool* pool, int64_t M, int64_t N, int64_t K, const float* A,
                        int64_t lda, const float* x, int64_t ldx, int taps, int64_t dilation,
                        float* C, int64_t ldc, bool accumulate) {
    Matrix a{A, lda, false};
    a.packed = lda == 0;
    Matrix b{x, ldx, false};
    b.taps = taps;
    b.dilation = dilation;
    run(pool, a, b, M, N, K, C, ldc, accumulate);
  }
  static GemmKernels table(Isa isa, bool half_b) {
    return GemmKernels{isa, kMr, half_b, gemm, conv_gemm, pack_a_whole, gemm_packed_a};
  }
};
