// detforge run-op OP --in IN.safetensors --out OUT.safetensors [--device cpu|cuda] [--attr k=v]...
//                    [--backward] | --list
#include <iostream>

#include "autograd/op_registry.h"
#include "cli/commands.h"
#include "tensor/safetensors.h"

namespace detforge::cli {

void add_run_op(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("run-op", "Run one registered op on tensors from a safetensors file");
  struct Args {
    std::string op, in, out, device = "cpu";
    std::vector<std::string> attrs;
    bool backward = false, list = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("op", args->op, "Op name (PyTorch functional name)");
  cmd->add_option("--in", args->in,
                  "Input safetensors file (inputs by name, grad_output for --backward)");
  cmd->add_option("--out", args->out,
                  "Output safetensors file (output, further outputs, grad_<input>)");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N");
  cmd->add_option("--attr", args->attrs,
                  "Attribute name=value (lists comma-separated, booleans true/false)");
  cmd->add_flag("--backward", args->backward, "Also compute grad_<input> from grad_output");
  cmd->add_flag("--list", args->list, "List ops with their inputs and attributes");
  cmd->callback([args] {
    if (args->list) {
      std::cout << describe_ops();
      return;
    }
    if (args->op.empty() || args->in.empty() || args->out.empty())
      throw Error("[run-op] needs OP, --in and --out (or --list)");
    std::map<std::string, std::string> attrs;
    for (auto& a : args->attrs) {
      auto eq = a.find('=');
      if (eq == std::string::npos || eq == 0)
        throw ConfigError("[run-op] --attr '" + a + "' is not of the form name=value");
      attrs[a.substr(0, eq)] = a.substr(eq + 1);
    }
    SafetensorsFile in = load_safetensors(args->in);
    RunOpOptions opt;
    opt.device = Device::parse(args->device);
    opt.backward = args->backward;
    auto result = run_op(args->op, in.tensors, attrs, opt);
    save_safetensors(args->out, result, {{"op", args->op}});
    for (auto& [k, v] : result)
      std::cout << k << " " << shape_str(v.shape()) << " " << dtype_name(v.dtype()) << "\n";
  });
}

}  // namespace detforge::cli
