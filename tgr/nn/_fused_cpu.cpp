// Fused element-wise LSTM kernels for the CPU, built on first use by
// tgr/nn/_fused.py (torch.utils.cpp_extension.load_inline). Each kernel does
// in one pass over memory what the Python path does in five to twelve ATen
// calls. Every 2-D argument is a row-strided view (unit column stride):
// slices of the engine's buffers are passed without copies.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <cmath>

namespace {

using at::vec::Vectorized;

template <typename T>
inline Vectorized<T> vsigmoid(const Vectorized<T>& x) {
  const Vectorized<T> y =
      (Vectorized<T>(T(1)) + x.neg().exp_u20()).reciprocal();
  return Vectorized<T>::blendv(y, x, x != x);  // a NaN stays a NaN
}

template <typename T>
inline T ssigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// tanh(x) = 2 sigmoid(2x) - 1, as tgr.nn._functional.tanh.
template <typename T>
inline Vectorized<T> vtanh(const Vectorized<T>& x) {
  return Vectorized<T>(T(2)) * vsigmoid(x + x) - Vectorized<T>(T(1));
}

template <typename T>
inline T stanh(T x) {
  return T(2) * ssigmoid(x + x) - T(1);
}

struct Mat {  // a row-strided matrix view, or nothing
  void* ptr = nullptr;
  int64_t stride = 0;
};

Mat view(const c10::optional<at::Tensor>& t, int64_t n, int64_t d,
         const at::ScalarType dtype, const char* name) {
  Mat m;
  if (!t.has_value() || !t->defined()) return m;
  TORCH_CHECK(t->dim() == 2 && t->size(0) == n && t->size(1) == d,
              "tgr fused kernel: '", name, "' must be (", n, ", ", d, ")");
  TORCH_CHECK(t->scalar_type() == dtype && t->device().is_cpu(),
              "tgr fused kernel: '", name, "' has the wrong dtype or device");
  TORCH_CHECK(d <= 1 || t->stride(1) == 1,
              "tgr fused kernel: '", name, "' needs unit column stride");
  m.ptr = t->data_ptr();
  m.stride = t->stride(0);
  return m;
}

template <typename T>
inline T* row(const Mat& m, int64_t r) {
  return static_cast<T*>(m.ptr) + r * m.stride;
}

constexpr int64_t kGrain = 64;  // rows per task when threads are used

// Calls f(r) for every row r < n, in parallel over blocks of rows (each row
// is written by one task only).
template <typename F>
void for_rows(int64_t n, const F& f) {
  at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r);
  });
}

// c = sigmoid(i) tanh(u) [+ fc] [+ sigmoid(f) c_prev]; tc = tanh(c);
// h = sigmoid(o) tc. The gates are activated in place.
template <typename T>
void cell_forward_impl(int64_t n, int64_t d, Mat i, Mat o, Mat u, Mat f,
                       Mat c_prev, Mat fc, Mat h, Mat c, Mat tc) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  for_rows(n, [&](int64_t r) {
    T *pi = row<T>(i, r), *po = row<T>(o, r), *pu = row<T>(u, r);
    T* pf = f.ptr ? row<T>(f, r) : nullptr;
    const T* pcp = c_prev.ptr ? row<T>(c_prev, r) : nullptr;
    const T* pfc = fc.ptr ? row<T>(fc, r) : nullptr;
    T *ph = row<T>(h, r), *pc = row<T>(c, r);
    T* ptc = tc.ptr ? row<T>(tc, r) : nullptr;
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vi = vsigmoid(V::loadu(pi + j)), vo = vsigmoid(V::loadu(po + j));
      V vu = vtanh(V::loadu(pu + j));
      V vc = vi * vu;
      if (pfc) vc = vc + V::loadu(pfc + j);
      if (pf) {
        V vf = vsigmoid(V::loadu(pf + j));
        vf.store(pf + j);
        vc = vc + vf * V::loadu(pcp + j);
      }
      V vt = vtanh(vc);
      vi.store(pi + j);
      vo.store(po + j);
      vu.store(pu + j);
      vc.store(pc + j);
      if (ptc) vt.store(ptc + j);
      (vo * vt).store(ph + j);
    }
    for (; j < d; ++j) {
      T si = ssigmoid(pi[j]), so = ssigmoid(po[j]), su = stanh(pu[j]);
      T sc = si * su;
      if (pfc) sc += pfc[j];
      if (pf) {
        T sf = ssigmoid(pf[j]);
        pf[j] = sf;
        sc += sf * pcp[j];
      }
      T st = stanh(sc);
      pi[j] = si;
      po[j] = so;
      pu[j] = su;
      pc[j] = sc;
      if (ptc) ptc[j] = st;
      ph[j] = so * st;
    }
  });
}

// From the activated gates i, o, u and tc = tanh(c), and the gradients gh,
// gc of h and c: gc_out = gc + gh o (1 - tc^2) and the gradients of the
// gates' pre-activations, gi = gc_out u i (1 - i), go = gh tc o (1 - o),
// gu = gc_out i (1 - u^2). gc may be absent (zero).
template <typename T>
void cell_backward_impl(int64_t n, int64_t d, Mat i, Mat o, Mat u, Mat tc,
                        Mat gh, Mat gc, Mat gi, Mat go, Mat gu, Mat gc_out) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  const V one(T(1));
  for_rows(n, [&](int64_t r) {
    const T *pi = row<T>(i, r), *po = row<T>(o, r), *pu = row<T>(u, r);
    const T *pt = row<T>(tc, r), *pgh = row<T>(gh, r);
    const T* pgc = gc.ptr ? row<T>(gc, r) : nullptr;
    T *pgi = row<T>(gi, r), *pgo = row<T>(go, r), *pgu = row<T>(gu, r);
    T* pgo_c = row<T>(gc_out, r);
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vi = V::loadu(pi + j), vo = V::loadu(po + j), vu = V::loadu(pu + j);
      V vt = V::loadu(pt + j), vgh = V::loadu(pgh + j);
      V vgc = vgh * vo * (one - vt * vt);
      if (pgc) vgc = vgc + V::loadu(pgc + j);
      (vgc * vu * vi * (one - vi)).store(pgi + j);
      (vgh * vt * vo * (one - vo)).store(pgo + j);
      (vgc * vi * (one - vu * vu)).store(pgu + j);
      vgc.store(pgo_c + j);
    }
    for (; j < d; ++j) {
      T si = pi[j], so = po[j], su = pu[j], st = pt[j], sgh = pgh[j];
      T sgc = sgh * so * (T(1) - st * st);
      if (pgc) sgc += pgc[j];
      pgi[j] = sgc * su * si * (T(1) - si);
      pgo[j] = sgh * st * so * (T(1) - so);
      pgu[j] = sgc * si * (T(1) - su * su);
      pgo_c[j] = sgc;
    }
  });
}

// Per edge: f = sigmoid(f) in place, fc = f c_k.
template <typename T>
void forget_forward_impl(int64_t n, int64_t d, Mat f, Mat ck, Mat fc) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  for_rows(n, [&](int64_t r) {
    T* pf = row<T>(f, r);
    const T* pc = row<T>(ck, r);
    T* pfc = row<T>(fc, r);
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vf = vsigmoid(V::loadu(pf + j));
      vf.store(pf + j);
      (vf * V::loadu(pc + j)).store(pfc + j);
    }
    for (; j < d; ++j) {
      T sf = ssigmoid(pf[j]);
      pf[j] = sf;
      pfc[j] = sf * pc[j];
    }
  });
}

// Per edge, from the gradient g of fc = f c_k: g_f = g c_k f (1 - f) (of
// f's pre-activation) and g_c = g f.
template <typename T>
void forget_backward_impl(int64_t n, int64_t d, Mat g, Mat ck, Mat f,
                          Mat g_f, Mat g_c) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  const V one(T(1));
  for_rows(n, [&](int64_t r) {
    const T *pg = row<T>(g, r), *pc = row<T>(ck, r), *pf = row<T>(f, r);
    T *pgf = row<T>(g_f, r), *pgc = row<T>(g_c, r);
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vg = V::loadu(pg + j), vf = V::loadu(pf + j);
      (vg * V::loadu(pc + j) * vf * (one - vf)).store(pgf + j);
      (vg * vf).store(pgc + j);
    }
    for (; j < d; ++j) {
      T sg = pg[j], sf = pf[j];
      pgf[j] = sg * pc[j] * sf * (T(1) - sf);
      pgc[j] = sg * sf;
    }
  });
}


// One step of the backward of a run (see run_backward): from gh (with the
// recurrent part added), the external gc_ext, the next step's gc and forget
// gate (absent at the last step) and the factors saved by the forward:
// gc = gc_ext + gc_next f_next + gh a, and the pre-activation gradients
// [gh F_o | gc F_i | gc F_f | gc F_u].
template <typename T>
void run_step_backward_impl(int64_t n, int64_t d, Mat gh, Mat gc_ext,
                            Mat gc_next, Mat f_next, Mat a, Mat fac,
                            Mat gg, Mat gc) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  for_rows(n, [&](int64_t r) {
    const T *pgh = row<T>(gh, r), *pge = row<T>(gc_ext, r);
    const T* pgn = gc_next.ptr ? row<T>(gc_next, r) : nullptr;
    const T* pfn = f_next.ptr ? row<T>(f_next, r) : nullptr;
    const T *pa = row<T>(a, r), *pfac = row<T>(fac, r);
    T *pgg = row<T>(gg, r), *pgc = row<T>(gc, r);
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vgh = V::loadu(pgh + j);
      V vgc = V::loadu(pge + j) + vgh * V::loadu(pa + j);
      if (pgn) vgc = vgc + V::loadu(pgn + j) * V::loadu(pfn + j);
      vgc.store(pgc + j);
      (vgh * V::loadu(pfac + j)).store(pgg + j);
      (vgc * V::loadu(pfac + d + j)).store(pgg + d + j);
      (vgc * V::loadu(pfac + 2 * d + j)).store(pgg + 2 * d + j);
      (vgc * V::loadu(pfac + 3 * d + j)).store(pgg + 3 * d + j);
    }
    for (; j < d; ++j) {
      T sgh = pgh[j];
      T sgc = pge[j] + sgh * pa[j];
      if (pgn) sgc += pgn[j] * pfn[j];
      pgc[j] = sgc;
      pgg[j] = sgh * pfac[j];
      pgg[d + j] = sgc * pfac[d + j];
      pgg[2 * d + j] = sgc * pfac[2 * d + j];
      pgg[3 * d + j] = sgc * pfac[3 * d + j];
    }
  });
}


// Graph LSTM (Liang et al.), one level: g_u = sigmoid(pu), g_c = tanh(pc)
// (in place), m = m_base + fm + g_u g_c, h = tanh(g_o m).
template <typename T>
void graph_cell_forward_impl(int64_t n, int64_t d, Mat pu, Mat pc,
                             Mat m_base, Mat fm, Mat g_o, Mat m, Mat h) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  for_rows(n, [&](int64_t r) {
    T *ppu = row<T>(pu, r), *ppc = row<T>(pc, r);
    const T *pmb = row<T>(m_base, r), *pfm = row<T>(fm, r);
    const T* pgo = row<T>(g_o, r);
    T *pm = row<T>(m, r), *ph = row<T>(h, r);
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vu = vsigmoid(V::loadu(ppu + j)), vc = vtanh(V::loadu(ppc + j));
      V vm = V::loadu(pmb + j) + V::loadu(pfm + j) + vu * vc;
      vu.store(ppu + j);
      vc.store(ppc + j);
      vm.store(pm + j);
      vtanh(V::loadu(pgo + j) * vm).store(ph + j);
    }
    for (; j < d; ++j) {
      T su = ssigmoid(ppu[j]), sc = stanh(ppc[j]);
      T sm = pmb[j] + pfm[j] + su * sc;
      ppu[j] = su;
      ppc[j] = sc;
      pm[j] = sm;
      ph[j] = stanh(pgo[j] * sm);
    }
  });
}

// Its backward, from the activated g_u, g_c, the states m, h, the output
// gate g_o and the gradients gh, gm of h and m: g_act = gh (1 - h^2),
// gm_out = gm + g_act g_o, and the gradients of the pre-activations,
// gu = gm_out g_c g_u (1 - g_u), gc = gm_out g_u (1 - g_c^2), and of g_o,
// g_go = g_act m.
template <typename T>
void graph_cell_backward_impl(int64_t n, int64_t d, Mat g_u, Mat g_c,
                              Mat m, Mat h, Mat g_o, Mat gh, Mat gm,
                              Mat gu, Mat gc, Mat gm_out, Mat g_go) {
  using V = Vectorized<T>;
  const int64_t vs = V::size();
  const V one(T(1));
  for_rows(n, [&](int64_t r) {
    const T *pu = row<T>(g_u, r), *pc = row<T>(g_c, r), *pm = row<T>(m, r);
    const T *ph = row<T>(h, r), *pgo = row<T>(g_o, r);
    const T *pgh = row<T>(gh, r), *pgm = row<T>(gm, r);
    T *pgu = row<T>(gu, r), *pgc = row<T>(gc, r);
    T *pgmo = row<T>(gm_out, r), *pggo = row<T>(g_go, r);
    int64_t j = 0;
    for (; j + vs <= d; j += vs) {
      V vh = V::loadu(ph + j), vu = V::loadu(pu + j), vc = V::loadu(pc + j);
      V vact = V::loadu(pgh + j) * (one - vh * vh);
      V vgm = V::loadu(pgm + j) + vact * V::loadu(pgo + j);
      (vgm * vc * vu * (one - vu)).store(pgu + j);
      (vgm * vu * (one - vc * vc)).store(pgc + j);
      vgm.store(pgmo + j);
      (vact * V::loadu(pm + j)).store(pggo + j);
    }
    for (; j < d; ++j) {
      T sh = ph[j], su = pu[j], sc = pc[j];
      T sact = pgh[j] * (T(1) - sh * sh);
      T sgm = pgm[j] + sact * pgo[j];
      pgu[j] = sgm * sc * su * (T(1) - su);
      pgc[j] = sgm * su * (T(1) - sc * sc);
      pgmo[j] = sgm;
      pggo[j] = sact * pm[j];
    }
  });
}

using OT = c10::optional<at::Tensor>;

void cell_forward(at::Tensor i, at::Tensor o, at::Tensor u, OT f, OT c_prev,
                  OT fc, at::Tensor h, at::Tensor c, OT tc) {
  const int64_t n = i.size(0), d = i.size(1);
  const auto dt = i.scalar_type();
  Mat mi = view(i, n, d, dt, "i"), mo = view(o, n, d, dt, "o"),
      mu = view(u, n, d, dt, "u"), mf = view(f, n, d, dt, "f"),
      mcp = view(c_prev, n, d, dt, "c_prev"), mfc = view(fc, n, d, dt, "fc"),
      mh = view(h, n, d, dt, "h"), mc = view(c, n, d, dt, "c"),
      mt = view(tc, n, d, dt, "tc");
  TORCH_CHECK(!mf.ptr == !mcp.ptr, "tgr fused kernel: f needs c_prev");
  AT_DISPATCH_FLOATING_TYPES(dt, "tgr_cell_forward", [&] {
    cell_forward_impl<scalar_t>(n, d, mi, mo, mu, mf, mcp, mfc, mh, mc, mt);
  });
}

void cell_backward(at::Tensor i, at::Tensor o, at::Tensor u, at::Tensor tc,
                   at::Tensor gh, OT gc, at::Tensor gi, at::Tensor go,
                   at::Tensor gu, at::Tensor gc_out) {
  const int64_t n = i.size(0), d = i.size(1);
  const auto dt = i.scalar_type();
  Mat mi = view(i, n, d, dt, "i"), mo = view(o, n, d, dt, "o"),
      mu = view(u, n, d, dt, "u"), mt = view(tc, n, d, dt, "tc"),
      mgh = view(gh, n, d, dt, "gh"), mgc = view(gc, n, d, dt, "gc"),
      mgi = view(gi, n, d, dt, "gi"), mgo = view(go, n, d, dt, "go"),
      mgu = view(gu, n, d, dt, "gu"), mout = view(gc_out, n, d, dt, "gc_out");
  AT_DISPATCH_FLOATING_TYPES(dt, "tgr_cell_backward", [&] {
    cell_backward_impl<scalar_t>(n, d, mi, mo, mu, mt, mgh, mgc, mgi, mgo,
                                 mgu, mout);
  });
}

void forget_forward(at::Tensor f, at::Tensor ck, at::Tensor fc) {
  const int64_t n = f.size(0), d = f.size(1);
  const auto dt = f.scalar_type();
  Mat mf = view(f, n, d, dt, "f"), mc = view(ck, n, d, dt, "c_k"),
      mfc = view(fc, n, d, dt, "fc");
  AT_DISPATCH_FLOATING_TYPES(dt, "tgr_forget_forward", [&] {
    forget_forward_impl<scalar_t>(n, d, mf, mc, mfc);
  });
}

void forget_backward(at::Tensor g, at::Tensor ck, at::Tensor f,
                     at::Tensor g_f, at::Tensor g_c) {
  const int64_t n = g.size(0), d = g.size(1);
  const auto dt = g.scalar_type();
  Mat mg = view(g, n, d, dt, "g"), mc = view(ck, n, d, dt, "c_k"),
      mf = view(f, n, d, dt, "f"), mgf = view(g_f, n, d, dt, "g_f"),
      mgc = view(g_c, n, d, dt, "g_c");
  AT_DISPATCH_FLOATING_TYPES(dt, "tgr_forget_backward", [&] {
    forget_backward_impl<scalar_t>(n, d, mg, mc, mf, mgf, mgc);
  });
}


Mat sub(const at::Tensor& t, int64_t step, int64_t col) {
  // Row-strided view of columns [col, ...) of step `step` of a (k, w, *)
  // tensor with unit column stride.
  Mat m;
  m.ptr = static_cast<char*>(t.data_ptr()) +
          (step * t.stride(0) + col) * t.element_size();
  m.stride = t.stride(1);
  return m;
}

void check_run(const at::Tensor& t, int64_t k, int64_t w, int64_t width,
               at::ScalarType dt, const char* name) {
  TORCH_CHECK(t.dim() == 3 && t.size(0) == k && t.size(1) == w &&
                  t.size(2) == width && t.stride(2) == 1 &&
                  t.scalar_type() == dt && t.device().is_cpu(),
              "tgr fused kernel: '", name, "' must be a (", k, ", ", w, ", ",
              width, ") CPU tensor with unit last stride");
}

// A run of k LSTM steps over w independent sequences. gates: (k, w, 4d),
// the pre-activations [o, i, f, u] holding W x + b, to which U h_prev is
// added and which are activated in place; u_t: (d, 4d); h0, c0: (w, d);
// out: (k, w, 2d) receives [h | c]; tcs: (k, w, d) receives tanh(c).
void run_forward(at::Tensor gates, at::Tensor u_t, at::Tensor h0,
                 at::Tensor c0, at::Tensor out, at::Tensor tcs) {
  const int64_t k = gates.size(0), w = gates.size(1), d = u_t.size(0);
  const auto dt = gates.scalar_type();
  check_run(gates, k, w, 4 * d, dt, "gates");
  check_run(out, k, w, 2 * d, dt, "out");
  check_run(tcs, k, w, d, dt, "tcs");
  Mat mc0 = view(c0, w, d, dt, "c0");
  at::Tensor h_prev = h0;
  for (int64_t t = 0; t < k; ++t) {
    at::Tensor g = gates.select(0, t);
    g.addmm_(h_prev, u_t);
    Mat cp = t == 0 ? mc0 : sub(out, t - 1, d);
    AT_DISPATCH_FLOATING_TYPES(dt, "tgr_run_forward", [&] {
      cell_forward_impl<scalar_t>(w, d, sub(gates, t, d), sub(gates, t, 0),
                                  sub(gates, t, 3 * d), sub(gates, t, 2 * d),
                                  cp, Mat(), sub(out, t, 0), sub(out, t, d),
                                  sub(tcs, t, 0));
    });
    h_prev = out.select(0, t).narrow(1, 0, d);
  }
}

// The backward of run_forward's recurrence, from the factors the forward
// saved: fac (k, w, 4d) = [F_o | F_i F_f F_u], a (k, w, d), f (k, w, d) the
// forget gates, grad (k, w, 2d) the external [gh | gc], u_all (4d, d).
// Writes the gates' pre-activation gradients into g_pre (k, w, 4d) and
// returns the gradient of c0 through the first step's cell, gc_0 (the
// caller multiplies it by f_0).
at::Tensor run_backward(at::Tensor fac, at::Tensor a, at::Tensor f,
                        at::Tensor grad, at::Tensor u_all, at::Tensor g_pre) {
  const int64_t k = fac.size(0), w = fac.size(1), d = u_all.size(1);
  const auto dt = fac.scalar_type();
  check_run(fac, k, w, 4 * d, dt, "factor");
  check_run(a, k, w, d, dt, "a");
  check_run(f, k, w, d, dt, "f");
  check_run(grad, k, w, 2 * d, dt, "grad");
  check_run(g_pre, k, w, 4 * d, dt, "g_pre");
  at::Tensor gh = at::empty({w, d}, fac.options());
  at::Tensor gc_a = at::empty({w, d}, fac.options());
  at::Tensor gc_b = at::empty({w, d}, fac.options());
  Mat mgh{gh.data_ptr(), d};
  for (int64_t t = k - 1; t >= 0; --t) {
    Mat gh_t = sub(grad, t, 0);
    if (t < k - 1) {
      at::addmm_out(gh, grad.select(0, t).narrow(1, 0, d),
                    g_pre.select(0, t + 1), u_all);
      gh_t = mgh;
    }
    Mat gc_next = t < k - 1 ? Mat{gc_b.data_ptr(), d} : Mat();
    Mat f_next = t < k - 1 ? sub(f, t + 1, 0) : Mat();
    AT_DISPATCH_FLOATING_TYPES(dt, "tgr_run_backward", [&] {
      run_step_backward_impl<scalar_t>(w, d, gh_t, sub(grad, t, d), gc_next,
                                       f_next, sub(a, t, 0), sub(fac, t, 0),
                                       sub(g_pre, t, 0),
                                       Mat{gc_a.data_ptr(), d});
    });
    std::swap(gc_a, gc_b);
  }
  return gc_b;
}

void graph_cell_forward(at::Tensor pu, at::Tensor pc, at::Tensor m_base,
                        at::Tensor fm, at::Tensor g_o, at::Tensor m,
                        at::Tensor h) {
  const int64_t n = pu.size(0), d = pu.size(1);
  const auto dt = pu.scalar_type();
  Mat a = view(pu, n, d, dt, "pu"), b = view(pc, n, d, dt, "pc"),
      mb = view(m_base, n, d, dt, "m_base"), f = view(fm, n, d, dt, "fm"),
      go = view(g_o, n, d, dt, "g_o"), mm = view(m, n, d, dt, "m"),
      hh = view(h, n, d, dt, "h");
  AT_DISPATCH_FLOATING_TYPES(dt, "tgr_graph_cell_forward", [&] {
    graph_cell_forward_impl<scalar_t>(n, d, a, b, mb, f, go, mm, hh);
  });
}

void graph_cell_backward(at::Tensor g_u, at::Tensor g_c, at::Tensor m,
                         at::Tensor h, at::Tensor g_o, at::Tensor gh,
                         at::Tensor gm, at::Tensor gu, at::Tensor gc,
                         at::Tensor gm_out, at::Tensor g_go) {
  const int64_t n = g_u.size(0), d = g_u.size(1);
  const auto dt = g_u.scalar_type();
  Mat a = view(g_u, n, d, dt, "g_u"), b = view(g_c, n, d, dt, "g_c"),
      mm = view(m, n, d, dt, "m"), hh = view(h, n, d, dt, "h"),
      go = view(g_o, n, d, dt, "g_o"), vgh = view(gh, n, d, dt, "gh"),
      vgm = view(gm, n, d, dt, "gm"), vgu = view(gu, n, d, dt, "gu"),
      vgc = view(gc, n, d, dt, "gc"), vout = view(gm_out, n, d, dt, "gm_out"),
      vgo = view(g_go, n, d, dt, "g_go");
  AT_DISPATCH_FLOATING_TYPES(dt, "tgr_graph_cell_backward", [&] {
    graph_cell_backward_impl<scalar_t>(n, d, a, b, mm, hh, go, vgh, vgm, vgu,
                                       vgc, vout, vgo);
  });
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("cell_forward", &cell_forward);
  m.def("cell_backward", &cell_backward);
  m.def("forget_forward", &forget_forward);
  m.def("forget_backward", &forget_backward);
  m.def("run_forward", &run_forward);
  m.def("run_backward", &run_backward);
  m.def("graph_cell_forward", &graph_cell_forward);
  m.def("graph_cell_backward", &graph_cell_backward);
}
