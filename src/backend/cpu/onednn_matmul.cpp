#include "backend/cpu/onednn_matmul.h"

#include <dnnl.hpp>

#include <vector>

namespace nhits::cpu {

using dnnl::memory;

namespace {

// One CPU engine for the process, and a stream per calling thread: a stream is not meant to be
// shared between threads, while the primitives (with user-provided scratchpads) are.
const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

}  // namespace

struct OnednnMatmul::State {
  int in = 0, out = 0;
  const dnnl::engine& engine = CpuEngine();
  memory::desc src, dst;
  memory weights, bias;
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

OnednnMatmul::OnednnMatmul(int out, int in, const float* w, const float* bias, Epilogue e)
    : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.in = in;
  s.out = out;
  const auto f32 = memory::data_type::f32;
  s.src = memory::desc({DNNL_RUNTIME_DIM_VAL, in}, f32, memory::format_tag::ab);
  s.dst = memory::desc({DNNL_RUNTIME_DIM_VAL, out}, f32, memory::format_tag::ab);
  const memory::desc w_any({in, out}, f32, memory::format_tag::any);
  const memory::desc w_user({in, out}, f32, memory::format_tag::ba);  // [out, in] row-major is K x N, transposed
  const memory::desc b_md({1, out}, f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  // The library's own scratchpad is shared by all primitives and ties each to the thread that
  // created it; the caller's (from its arena) lets any thread run the primitive.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (e == Epilogue::kRelu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  s.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(s.src, w_any, b_md, s.dst), attr, s.engine);
  s.primitive = dnnl::matmul(s.pd);
  memory user(w_user, s.engine, const_cast<float*>(w));
  s.weights = memory(s.pd.weights_desc(), s.engine);
  dnnl::stream& stream = ThreadStream();
  dnnl::reorder(user, s.weights).execute(stream, user, s.weights);
  s.bias = memory(b_md, s.engine);
  std::copy(bias, bias + out, static_cast<float*>(s.bias.get_data_handle()));
  stream.wait();
}

OnednnMatmul::~OnednnMatmul() = default;
OnednnMatmul::OnednnMatmul(OnednnMatmul&&) noexcept = default;
OnednnMatmul& OnednnMatmul::operator=(OnednnMatmul&&) noexcept = default;

void OnednnMatmul::Run(int batch, const float* x, float* y, void* scratchpad) const {
  const State& s = *s_;
  const auto f32 = memory::data_type::f32;
  memory src(memory::desc({batch, s.in}, f32, memory::format_tag::ab), s.engine, const_cast<float*>(x));
  memory dst(memory::desc({batch, s.out}, f32, memory::format_tag::ab), s.engine, y);
  memory scratch(s.pd.scratchpad_desc(), s.engine, scratchpad);
  dnnl::stream& stream = ThreadStream();
  s.primitive.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, s.weights},
                               {DNNL_ARG_BIAS, s.bias},
                               {DNNL_ARG_DST, dst},
                               {DNNL_ARG_SCRATCHPAD, scratch}});
  stream.wait();
}

std::size_t OnednnMatmul::scratchpad_bytes() const { return s_->pd.scratchpad_desc().get_size(); }

std::size_t OnednnMatmul::packed_bytes() const { return s_->pd.weights_desc().get_size(); }

const char* OnednnMatmul::implementation() const { return s_->pd.impl_info_str(); }

}  // namespace nhits::cpu
