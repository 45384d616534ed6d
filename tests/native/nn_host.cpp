// A minimal host that calls an exported model the way nn~ (nn_tilde) does:
// load -> get_methods() -> read "<method>_params" = [in_channels, in_ratio, out_channels, out_ratio] ->
// call the method on [batch, in_channels, buffer / in_ratio] blocks, several in a row (streaming state) ->
// check [batch, out_channels, buffer / out_ratio], finite. Also lists attributes and calls their getters.
// Usage: nn_host MODEL.ts [buffer ...]   (default buffers 2048 4096). Exit 0 when every check passed.
#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.ts [buffer ...]\n", argv[0]);
    return 2;
  }
  std::vector<int64_t> buffers;
  for (int i = 2; i < argc; ++i) buffers.push_back(std::stoll(argv[i]));
  if (buffers.empty()) buffers = {2048, 4096};

  c10::InferenceMode guard;  // as nn~: no autograd
  torch::jit::script::Module model;
  try {
    model = torch::jit::load(argv[1]);
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "FAIL load: %s\n", e.what_without_backtrace());
    return 1;
  }
  model.eval();
  torch::manual_seed(0);

  int failures = 0;
  auto methods = model.get_method("get_methods")({}).toList();
  std::printf("methods:");
  for (const auto& m : methods) std::printf(" %s", m.get().toStringRef().c_str());
  std::printf("\n");
  if (model.hasattr("sr")) std::printf("sr: %lld\n", static_cast<long long>(model.attr("sr").toInt()));

  if (model.find_method("get_attributes")) {
    auto attrs = model.get_method("get_attributes")({}).toList();
    for (const auto& a : attrs) {
      const std::string name = a.get().toStringRef();
      if (name == "none") continue;
      if (!model.find_method("get_" + name) || !model.find_method("set_" + name)) {
        std::printf("FAIL attribute %s: missing getter or setter\n", name.c_str());
        ++failures;
        continue;
      }
      auto value = model.get_method("get_" + name)({});
      std::printf("attribute %s = %s\n", name.c_str(), c10::IValue(value).tagKind().c_str());
    }
  }

  for (const auto& mv : methods) {
    const std::string name = mv.get().toStringRef();
    auto params = model.attr(name + "_params").toTensor();
    const int64_t in_ch = params[0].item<int64_t>(), in_ratio = params[1].item<int64_t>();
    const int64_t out_ch = params[2].item<int64_t>(), out_ratio = params[3].item<int64_t>();
    auto method = model.get_method(name);
    for (int64_t buffer : buffers) {
      for (int64_t batch : {1, 2}) {
        const int n_blocks = 4;
        double worst_ms = 0.0;
        bool ok = true;
        for (int b = 0; b < n_blocks; ++b) {
          auto x = 0.1 * torch::randn({batch, in_ch, buffer / in_ratio});
          auto t0 = std::chrono::steady_clock::now();
          auto y = method({x}).toTensor();
          double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
          worst_ms = std::max(worst_ms, ms);
          if (y.dim() != 3 || y.size(0) != batch || y.size(1) != out_ch || y.size(2) != buffer / out_ratio) {
            std::printf("FAIL %s buffer %lld batch %lld: output shape %s\n", name.c_str(),
                        static_cast<long long>(buffer), static_cast<long long>(batch),
                        c10::str(y.sizes()).c_str());
            ok = false;
            break;
          }
          if (!torch::isfinite(y).all().item<bool>()) {
            std::printf("FAIL %s buffer %lld batch %lld: non-finite output\n", name.c_str(),
                        static_cast<long long>(buffer), static_cast<long long>(batch));
            ok = false;
            break;
          }
        }
        if (!ok) {
          ++failures;
          continue;
        }
        std::printf("ok %s params [%lld %lld %lld %lld] buffer %lld batch %lld: %d blocks, worst %.2f ms\n",
                    name.c_str(), static_cast<long long>(in_ch), static_cast<long long>(in_ratio),
                    static_cast<long long>(out_ch), static_cast<long long>(out_ratio),
                    static_cast<long long>(buffer), static_cast<long long>(batch), n_blocks, worst_ms);
      }
    }
  }
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
