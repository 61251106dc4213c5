// The whole-sequence Hadamard recurrence on CPU: forward and backpropagation through time
// (hadamhw/nn/fused.py builds and calls it; the PyTorch loop in model.py is the reference).
//
// Forward, per sequence (h_0 = 0; s = sign(u) / sqrt(m), the scaled signs):
//     r_t = FWHT_m(h_{t-1})               blockwise, unnormalised, radix-2, in place
//     v_t = s * r_t + (d_t + bias),  h_t = act(v_t),  act: identity ('linear'), relu
//     ('vanilla');  out_t = h_t, or relu(h_t) (the readout's input) when relu_out
// d_t is a row of the drive (B, T, n), or, for one-hot inputs, row x_t of a table (V, n).
// Backward, from dL/d out_t, for t = T..1, with the carry c_{T+1} = 0:
//     g_t = act'(v_t) * (relu'(v_t) * dL/d out_t + c_{t+1})   (relu' only when relu_out)
//     dL/d d_t = g_t,  dL/ds += g_t * r_t,  dL/d bias += g_t,  c_t = FWHT_m(s * g_t)
// (H_m is symmetric: the transform is its own transpose). Nothing but the inputs is kept
// for the backward pass: it first runs the forward pass of one sequence again, keeping r_t
// (T x n values, cache-resident), then goes back through it. One more transform per step
// costs less than writing the states to memory and reading them back.
//
// Plain loops that g++ -O3 vectorizes, plus GCC/Clang vector extensions for the stages
// that pair values 1, 2, 4 and 8 apart (within one 16-value vector). Sequences are
// independent: they are split between at::get_num_threads() threads.

#include <torch/extension.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

// ---------------------------------------------------------------- the transform

// One stage with half = H < 16 known at compile time: pairs (j + i, j + H + i).
template <typename T, int H>
inline void stage_small(T* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j += 2 * H) {
    T u[H], v[H];
    for (int i = 0; i < H; ++i) {
      u[i] = x[j + i];
      v[i] = x[j + H + i];
    }
    for (int i = 0; i < H; ++i) {
      x[j + i] = u[i] + v[i];
      x[j + H + i] = u[i] - v[i];
    }
  }
}

template <typename T>
inline void butterfly2(T* __restrict a, T* __restrict b, int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const T u = a[i], v = b[i];
    a[i] = u + v;
    b[i] = u - v;
  }
}

// Two stages (half and 2 half) in one pass: the same sums as two radix-2 stages.
template <typename T>
inline void butterfly4(T* __restrict p0, T* __restrict p1, T* __restrict p2,
                       T* __restrict p3, int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const T a = p0[i], b = p1[i], c = p2[i], d = p3[i];
    const T s0 = a + b, d0 = a - b, s1 = c + d, d1 = c - d;
    p0[i] = s0 + s1;
    p1[i] = d0 + d1;
    p2[i] = s0 - s1;
    p3[i] = d0 - d1;
  }
}

// Three stages (half, 2 half, 4 half) in one pass.
template <typename T>
inline void butterfly8(T* __restrict p0, T* __restrict p1, T* __restrict p2, T* __restrict p3,
                       T* __restrict p4, T* __restrict p5, T* __restrict p6, T* __restrict p7,
                       int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const T a0 = p0[i], a1 = p1[i], a2 = p2[i], a3 = p3[i];
    const T a4 = p4[i], a5 = p5[i], a6 = p6[i], a7 = p7[i];
    const T b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3;
    const T b4 = a4 + a5, b5 = a4 - a5, b6 = a6 + a7, b7 = a6 - a7;
    const T c0 = b0 + b2, c1 = b1 + b3, c2 = b0 - b2, c3 = b1 - b3;
    const T c4 = b4 + b6, c5 = b5 + b7, c6 = b4 - b6, c7 = b5 - b7;
    p0[i] = c0 + c4;
    p1[i] = c1 + c5;
    p2[i] = c2 + c6;
    p3[i] = c3 + c7;
    p4[i] = c0 - c4;
    p5[i] = c1 - c5;
    p6[i] = c2 - c6;
    p7[i] = c3 - c7;
  }
}

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define HADAMHW_VECTOR_EXTENSIONS 1
// The four stages within 16 consecutive values: on a 16-value vector each is one
// permutation and one multiply-add, y = P v + sign * v, sign = -1 on the second value of
// each pair (exact: a product with +-1). A vector wider than the machine's becomes several
// registers.
template <typename T>
inline void stages_below_16(T* __restrict x, int64_t n) {
  typedef T vec __attribute__((vector_size(16 * sizeof(T))));
  const vec s1 = {1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1};
  const vec s2 = {1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1};
  const vec s4 = {1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1};
  const vec s8 = {1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1};
  for (int64_t j = 0; j < n; j += 16) {
    vec v;
    std::memcpy(&v, x + j, sizeof(vec));
    v = __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14) +
        v * s1;
    v = __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13) +
        v * s2;
    v = __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11) +
        v * s4;
    v = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7) +
        v * s8;
    std::memcpy(x + j, &v, sizeof(vec));
  }
}
#endif

// x (n values, n a multiple of m) <- blockdiag(H_m, ..., H_m) x, in place. Each stage runs
// over all n values at once: a pair (i, i + half) with half < m never leaves its block.
// The stages commute; each output is the same signed sum of inputs in any stage order.
template <typename T>
void fwht(T* __restrict x, int64_t n, int64_t m) {
#ifdef HADAMHW_VECTOR_EXTENSIONS
  if (m >= 16) {
    stages_below_16(x, n);
  } else
#endif
  {
    if (m > 1) stage_small<T, 1>(x, n);
    if (m > 2) stage_small<T, 2>(x, n);
    if (m > 4) stage_small<T, 4>(x, n);
    if (m > 8) stage_small<T, 8>(x, n);
  }
  // the stages from 16 up, two or three per pass over x (fewer loads and stores): three
  // while at least three are left, but four as two and two
  for (int64_t half = 16; half < m;) {
    int64_t left = 0;
    for (int64_t h = half; h < m; h *= 2) ++left;
    if (left >= 3 && left != 4) {
      for (int64_t j = 0; j < n; j += 8 * half)
        butterfly8(x + j, x + j + half, x + j + 2 * half, x + j + 3 * half, x + j + 4 * half,
                   x + j + 5 * half, x + j + 6 * half, x + j + 7 * half, half);
      half *= 8;
    } else if (left >= 2) {
      for (int64_t j = 0; j < n; j += 4 * half)
        butterfly4(x + j, x + j + half, x + j + 2 * half, x + j + 3 * half, half);
      half *= 4;
    } else {
      for (int64_t j = 0; j < n; j += 2 * half) butterfly2(x + j, x + j + half, half);
      half *= 2;
    }
  }
}

// ---------------------------------------------------------------- one time step
// The loops over the n values of one step take their arrays as __restrict parameters:
// GCC honours restrict on parameters (also once inlined), not on local pointers, and
// vectorizes these loops only with it.

inline bool positive(float v) { return v > 0.0f; }
inline bool positive(double v) { return v > 0.0; }

// h <- act(s * r + (d + bias)); out <- h, or relu(h) when ReluOut. r and h may be the same
// array (the forward pass transforms h in place): no __restrict on them.
template <typename T, bool Vanilla, bool Bias, bool ReluOut>
inline void forward_step(const T* __restrict s, const T* __restrict bias,
                         const T* __restrict d, const T* r, T* h, T* __restrict out,
                         int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    // (s r) + (d + b): the order of the PyTorch loop, which adds the bias to the drive
    T v = s[i] * r[i] + (Bias ? d[i] + bias[i] : d[i]);
    if (Vanilla) v = v < T(0) ? T(0) : v;  // relu; NaN stays NaN, as in torch.relu
    h[i] = v;
    out[i] = ReluOut ? (v < T(0) ? T(0) : v) : v;
  }
}

// As forward_step, keeping only h (r and h distinct).
template <typename T, bool Vanilla, bool Bias>
inline void state_step(const T* __restrict s, const T* __restrict bias, const T* __restrict d,
                       const T* __restrict r, T* __restrict h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T v = s[i] * r[i] + (Bias ? d[i] + bias[i] : d[i]);
    h[i] = Vanilla ? (v < T(0) ? T(0) : v) : v;
  }
}

// g = dL/d d_t (into gd, or added to the table row gd when Gather), carry <- s * g
// (which the caller transforms), gs += g * r_t, gb += g. v_t is recomputed from r_t
// exactly as forward_step computed it, for the relu masks: relu'(v) = [v > 0], as torch's
// relu backward (zero at 0 and for NaN).
template <typename T, bool Gather, bool Vanilla, bool Bias, bool ReluOut, bool NeedSigns,
          bool NeedBias>
inline void backward_step(const T* __restrict grad_out, const T* __restrict r,
                          const T* __restrict d, const T* __restrict s,
                          const T* __restrict bias, T* __restrict carry, T* __restrict gd,
                          T* __restrict gs, T* __restrict gb, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T grad = grad_out[i];
    if (Vanilla || ReluOut) {
      const T v = s[i] * r[i] + (Bias ? d[i] + bias[i] : d[i]);
      if (ReluOut) grad = positive(v) ? grad : T(0);
      grad = grad + carry[i];
      if (Vanilla) grad = positive(v) ? grad : T(0);
    } else {
      grad = grad + carry[i];
    }
    if (Gather)
      gd[i] += grad;
    else
      gd[i] = grad;
    carry[i] = s[i] * grad;
    // r_1 = 0: the first step adds g * 0, as PyTorch's product with FWHT(h_0) does
    if (NeedSigns) gs[i] += grad * r[i];
    if (NeedBias) gb[i] += grad;
  }
}

// ---------------------------------------------------------------- whole sequences

// Asks for a row before it is needed: the backward pass reads rows from the last time step
// down, which the hardware prefetchers follow less well (about 10% of its time).
template <typename T>
inline void prefetch_row(const T* row, int64_t n) {
#if defined(__GNUC__)
  for (int64_t i = 0; i < n; i += 64 / sizeof(T)) __builtin_prefetch(row + i);
#else
  (void)row;
  (void)n;
#endif
}

struct Shape {
  int64_t steps, n, m;
};

// Row d_t of sequence b: of the drive (B, T, n), or row tokens[b, t] of the table (V, n).
template <typename T, bool Gather>
inline const T* drive_row(const T* drive, const int64_t* tokens, int64_t row, int64_t n) {
  return Gather ? drive + tokens[row] * n : drive + row * n;
}

// Sequences [begin, end): out_t = h_t, or relu(h_t) when ReluOut.
template <typename T, bool Gather, bool Vanilla, bool Bias, bool ReluOut>
void forward_sequences(const T* drive, const int64_t* tokens, const T* signs, const T* bias,
                       T* out, int64_t begin, int64_t end, Shape shape) {
  const int64_t steps = shape.steps, n = shape.n;
  std::vector<T> buffer(n);
  T* h = buffer.data();
  for (int64_t b = begin; b < end; ++b) {
    std::fill(buffer.begin(), buffer.end(), T(0));
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = b * steps + t;
      if (t > 0) fwht(h, n, shape.m);  // FWHT(h_0 = 0) = 0
      forward_step<T, Vanilla, Bias, ReluOut>(signs, bias, drive_row<T, Gather>(drive, tokens,
                                              row, n), h, h, out + row * n, n);
    }
  }
}

// Sequences [begin, end): runs each forward again, keeping r_1..r_T, then back through
// time. Writes grad_drive (B, T, n), or when Gather adds g_t to row tokens[b, t] of
// grad_drive (V, n, this thread's own table). gs, gb: per-sequence (B, n) sums over time.
template <typename T, bool Gather, bool Vanilla, bool Bias, bool ReluOut, bool NeedSigns,
          bool NeedBias>
void backward_sequences(const T* drive, const int64_t* tokens, const T* signs, const T* bias,
                        const T* grad_out, T* grad_drive, T* grad_signs, T* grad_bias,
                        int64_t begin, int64_t end, Shape shape) {
  const int64_t steps = shape.steps, n = shape.n;
  std::vector<T> buffer((steps + 1) * n);
  T* rotated = buffer.data();  // r_{t+1} at rotated + t n, t = 0..T-1
  T* carry = rotated + steps * n;
  for (int64_t b = begin; b < end; ++b) {
    std::fill(rotated, rotated + n, T(0));  // r_1 = FWHT(h_0) = 0
    for (int64_t t = 1; t < steps; ++t) {  // h_t into the place of r_{t+1}, transformed
      T* r = rotated + t * n;
      state_step<T, Vanilla, Bias>(signs, bias, drive_row<T, Gather>(drive, tokens,
                                   b * steps + t - 1, n), r - n, r, n);
      fwht(r, n, shape.m);
    }
    std::fill(carry, carry + n, T(0));
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t row = b * steps + t, ahead = 3;
      if (t >= ahead) {
        prefetch_row(grad_out + (row - ahead) * n, n);
        if (!Gather) prefetch_row(drive + (row - ahead) * n, n);
      }
      backward_step<T, Gather, Vanilla, Bias, ReluOut, NeedSigns, NeedBias>(
          grad_out + row * n, rotated + t * n, drive_row<T, Gather>(drive, tokens, row, n),
          signs, bias, carry, Gather ? grad_drive + tokens[row] * n : grad_drive + row * n,
          NeedSigns ? grad_signs + b * n : nullptr, NeedBias ? grad_bias + b * n : nullptr,
          n);
      if (t > 0) fwht(carry, n, shape.m);
    }
  }
}

// ---------------------------------------------------------------- dispatch

// One part of the batch per thread torch may use (torch.set_num_threads).
int64_t parts_for(int64_t count) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), count));
}

// Runs fn(part, begin, end) over [0, count) in `parts` contiguous parts, one thread each.
template <typename F>
void split(int64_t count, int64_t parts, const F& fn) {
  if (parts <= 1) {
    fn(0, 0, count);
    return;
  }
  const int64_t per = (count + parts - 1) / parts;
  std::vector<std::thread> pool;
  for (int64_t part = 1; part * per < count; ++part)
    pool.emplace_back(fn, part, part * per, std::min(count, (part + 1) * per));
  fn(0, 0, std::min(count, per));
  for (auto& thread : pool) thread.join();
}

// Calls fn(std::integral_constant<bool, flag>): each loop is compiled once per combination
// of flags, without branches inside.
template <typename F>
void with_flag(bool flag, const F& fn) {
  if (flag)
    fn(std::true_type{});
  else
    fn(std::false_type{});
}

void check_tensor(const torch::Tensor& x, const char* what, int64_t dim,
                  const torch::Tensor& like) {
  TORCH_CHECK(x.device().is_cpu(), what, " must be a CPU tensor");
  TORCH_CHECK(x.dim() == dim, what, " must have ", dim, " dimension(s)");
  TORCH_CHECK(x.is_contiguous(), what, " must be contiguous");
  TORCH_CHECK(x.scalar_type() == like.scalar_type(), what, " must have the drive's dtype");
  TORCH_CHECK(x.size(-1) == like.size(-1), what, " must have n = ", like.size(-1), " values");
}

void check_block_size(int64_t n, int64_t m) {
  TORCH_CHECK(m >= 1 && (m & (m - 1)) == 0 && n % m == 0,
              "block size must be a power of two dividing n");
}

// tokens: (B, T) int64 with values in [0, vocab), or an empty tensor (no gather).
void check_tokens(const torch::Tensor& tokens, int64_t vocab) {
  TORCH_CHECK(tokens.device().is_cpu() && tokens.scalar_type() == torch::kLong &&
                  tokens.dim() == 2 && tokens.is_contiguous(),
              "tokens must be a contiguous (batch, steps) int64 CPU tensor");
  if (tokens.numel() > 0)
    TORCH_CHECK(tokens.min().item<int64_t>() >= 0 && tokens.max().item<int64_t>() < vocab,
                "token ids must lie in [0, ", vocab, ")");
}

// The checked inputs of both passes: a gather of table rows (tokens given) or a drive, a
// bias or none, and the shape.
struct Inputs {
  bool gather, has_bias;
  int64_t batch;
  Shape shape;
};

Inputs check_inputs(const torch::Tensor& drive, const torch::Tensor& tokens,
                    const torch::Tensor& signs, const torch::Tensor& bias, int64_t block_size) {
  const bool gather = tokens.dim() == 2;
  check_tensor(drive, "drive", gather ? 2 : 3, drive);
  if (gather) check_tokens(tokens, drive.size(0));
  check_tensor(signs, "signs", 1, drive);
  const bool has_bias = bias.numel() > 0;
  if (has_bias) check_tensor(bias, "bias", 1, drive);
  const Shape shape{gather ? tokens.size(1) : drive.size(1), drive.size(-1), block_size};
  check_block_size(shape.n, block_size);
  return {gather, has_bias, gather ? tokens.size(0) : drive.size(0), shape};
}

}  // namespace

// drive: (B, T, n), or with tokens (B, T) the table (V, n) whose row tokens[b, t] is d_t
// (tokens: an empty tensor for no gather). signs (n) = sign(u) / sqrt(m); bias (n) or an
// empty tensor. Returns out (B, T, n): the states, or relu of them when relu_out.
torch::Tensor recurrence_forward(torch::Tensor drive, torch::Tensor tokens, torch::Tensor signs,
                                 torch::Tensor bias, int64_t block_size, bool vanilla,
                                 bool relu_out) {
  const Inputs in = check_inputs(drive, tokens, signs, bias, block_size);
  const bool gather = in.gather, has_bias = in.has_bias;
  const int64_t batch = in.batch;
  const Shape shape = in.shape;
  relu_out = relu_out && !vanilla;  // vanilla states are relu'd already
  auto out = torch::empty({batch, shape.steps, shape.n}, drive.options());
  const int64_t* tok = gather ? tokens.data_ptr<int64_t>() : nullptr;
  AT_DISPATCH_FLOATING_TYPES(drive.scalar_type(), "hadamhw_recurrence_forward", [&] {
    const scalar_t* d = drive.data_ptr<scalar_t>();
    const scalar_t* s = signs.data_ptr<scalar_t>();
    const scalar_t* bi = has_bias ? bias.data_ptr<scalar_t>() : nullptr;
    scalar_t* o = out.data_ptr<scalar_t>();
    with_flag(gather, [&](auto ga) {
      with_flag(vanilla, [&](auto va) {
        with_flag(has_bias, [&](auto bs) {
          with_flag(relu_out, [&](auto ro) {
            split(batch, parts_for(batch), [&](int64_t, int64_t begin, int64_t end) {
              forward_sequences<scalar_t, ga.value, va.value, bs.value, ro.value>(
                  d, tok, s, bi, o, begin, end, shape);
            });
          });
        });
      });
    });
  });
  return out;
}

// The inputs of forward, as given to it, and grad_out = dL/d out (B, T, n). Returns
// dL/d drive ((B, T, n), or (V, n) for the table) and the per-sequence sums for the signs
// and the bias, (B, n) each, or empty tensors when not needed (the caller sums them over
// the batch).
std::vector<torch::Tensor> recurrence_backward(torch::Tensor drive, torch::Tensor tokens,
                                               torch::Tensor signs, torch::Tensor bias,
                                               torch::Tensor grad_out, int64_t block_size,
                                               bool vanilla, bool relu_out, bool need_signs,
                                               bool need_bias) {
  const Inputs in = check_inputs(drive, tokens, signs, bias, block_size);
  const bool gather = in.gather, has_bias = in.has_bias;
  const int64_t batch = in.batch;
  const Shape shape = in.shape;
  check_tensor(grad_out, "grad_out", 3, drive);
  TORCH_CHECK(grad_out.size(0) == batch && grad_out.size(1) == shape.steps,
              "grad_out must be (batch, steps, n)");
  relu_out = relu_out && !vanilla;
  const int64_t parts = parts_for(batch), vocab = drive.size(0);
  // with a gather, each thread adds into its own table, summed at the end
  auto grad_drive = gather ? torch::zeros({parts, vocab, shape.n}, drive.options())
                           : torch::empty_like(drive);
  auto per_sequence = [&](bool need) {
    return need ? torch::zeros({batch, shape.n}, drive.options())
                : torch::empty({0}, drive.options());
  };
  auto grad_signs = per_sequence(need_signs);
  auto grad_bias = per_sequence(need_bias);
  const int64_t* tok = gather ? tokens.data_ptr<int64_t>() : nullptr;
  AT_DISPATCH_FLOATING_TYPES(drive.scalar_type(), "hadamhw_recurrence_backward", [&] {
    const scalar_t* d = drive.data_ptr<scalar_t>();
    const scalar_t* s = signs.data_ptr<scalar_t>();
    const scalar_t* bi = has_bias ? bias.data_ptr<scalar_t>() : nullptr;
    const scalar_t* go = grad_out.data_ptr<scalar_t>();
    scalar_t* gd = grad_drive.data_ptr<scalar_t>();
    scalar_t* gs = need_signs ? grad_signs.data_ptr<scalar_t>() : nullptr;
    scalar_t* gb = need_bias ? grad_bias.data_ptr<scalar_t>() : nullptr;
    const int64_t table = vocab * shape.n;
    with_flag(gather, [&](auto ga) {
      with_flag(vanilla, [&](auto va) {
        with_flag(has_bias, [&](auto bs) {
          with_flag(relu_out, [&](auto ro) {
            with_flag(need_signs, [&](auto ns) {
              with_flag(need_bias, [&](auto nb) {
                split(batch, parts, [&](int64_t part, int64_t begin, int64_t end) {
                  backward_sequences<scalar_t, ga.value, va.value, bs.value, ro.value,
                                     ns.value, nb.value>(
                      d, tok, s, bi, go, ga.value ? gd + part * table : gd, gs, gb, begin,
                      end, shape);
                });
              });
            });
          });
        });
      });
    });
  });
  if (gather) grad_drive = parts == 1 ? grad_drive[0] : grad_drive.sum(0);
  return {grad_drive, grad_signs, grad_bias};
}

// The transform alone (for tests): each row of x (rows, n) times blockdiag(H_m, ...).
torch::Tensor fwht_rows(torch::Tensor x, int64_t block_size) {
  check_tensor(x, "x", 2, x);
  check_block_size(x.size(1), block_size);
  auto y = x.clone();
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "hadamhw_fwht_rows", [&] {
    scalar_t* p = y.data_ptr<scalar_t>();
    for (int64_t row = 0; row < y.size(0); ++row)
      fwht(p + row * y.size(1), y.size(1), block_size);
  });
  return y;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, module) {
  const auto release = pybind11::call_guard<pybind11::gil_scoped_release>();
  module.def("forward", &recurrence_forward, "whole-sequence Hadamard recurrence", release);
  module.def("backward", &recurrence_backward, "its backpropagation through time", release);
  module.def("fwht_rows", &fwht_rows, "blockwise Walsh-Hadamard transform of each row",
             release);
}
