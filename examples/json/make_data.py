"""Regenerate the files under examples/json/data (run from the repository root).

    python examples/json/make_data.py

Writes the MLIR and ONNX modules, the MLP weights (safetensors, keys under the ``model.``
scope), its input and the expected outputs computed by torch eager, and prints the sha256 of
the weights file for ``mlp_quality.json``.
"""

from __future__ import annotations

import hashlib
import pathlib
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data"

ADD_MLIR = """\
func.func @main(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = arith.addf %a, %b : tensor<2x3xf32>
  %1 = arith.mulf %0, %0 : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
"""


def write_onnx(path: pathlib.Path) -> None:
    """relu(x) * 2 on a [2, 3] float32 input, opset 17."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]),
                               helper.make_node("Mul", ["r", "two"], ["y"])],
                              "relu2", [x], [y], [two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main() -> None:
    from safetensors.torch import save_file

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from pk_json_models import mlp

    from paritykit.jsontests.weights import random_state

    DATA.mkdir(exist_ok=True)
    (DATA / "add.mlir").write_text(ADD_MLIR)
    write_onnx(DATA / "relu2.onnx")
    torch.manual_seed(0)
    model = mlp().eval()
    save_file({f"model.{k}": v.contiguous() for k, v in model.state_dict().items()},
              str(DATA / "mlp.safetensors"))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.save(DATA / "mlp_x.npy", x)
    with torch.no_grad():
        np.save(DATA / "mlp_expected.npy", model(torch.from_numpy(x)).numpy())
        seeded = mlp().eval()
        seeded.load_state_dict({k: torch.from_numpy(v) for k, v in
                                random_state(seeded, 42).items()})
        np.save(DATA / "mlp_random_expected.npy", seeded(torch.from_numpy(x)).numpy())
    digest = hashlib.sha256((DATA / "mlp.safetensors").read_bytes()).hexdigest()
    print(f"mlp.safetensors sha256 {digest}")


if __name__ == "__main__":
    main()
