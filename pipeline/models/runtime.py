"""Runtimes that execute a trained extractor: the torch network itself, or its ONNX export.

A runtime has two calls, both on numpy arrays:

    hidden, tag_logits = runtime.encode(ids, mask)          # (B, L) int64 → opaque, (B, L, T)
    rel_logits = runtime.relation_logits(hidden, ents, pairs)  # (E, 4), (P, PAIR_COLUMNS) int64 → (P, C)

The ONNX runtime needs neither torch nor transformers at inference, which is what makes loading
fast; `export_onnx` writes it next to the torch bundle (int8 weights where accuracy holds).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from pipeline.models.schema import PAIR_COLUMNS
from pipeline.registry import Registry

ONNX_DIR = "onnx"
ENCODER_FILE = "encoder.onnx"
RELATIONS_FILE = "relations.onnx"


class Runtime(Protocol):
    def encode(self, ids: np.ndarray, mask: np.ndarray) -> tuple[Any, np.ndarray]: ...

    def relation_logits(self, hidden: Any, ents: np.ndarray, pairs: np.ndarray) -> np.ndarray: ...


RUNTIMES: Registry[Callable[..., Runtime]] = Registry("runtime")


class TorchRuntime:
    def __init__(self, net: Any, threads: int = 0):
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        self.net = net
        self.torch = torch

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> tuple[Any, np.ndarray]:
        with self.torch.inference_mode():
            hidden, logits = self.net.encode(self.torch.from_numpy(ids), self.torch.from_numpy(mask))
        return hidden, logits.float().numpy()

    def relation_logits(self, hidden: Any, ents: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            out = self.net.relation_logits(hidden, self.torch.from_numpy(ents), self.torch.from_numpy(pairs))
        return out.float().numpy()


class OnnxRuntime:
    def __init__(self, model_dir: str | Path, threads: int = 0):
        import onnxruntime as ort

        folder = Path(model_dir) / ONNX_DIR
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(folder / ENCODER_FILE), options, providers=providers)
        self.relations = ort.InferenceSession(str(folder / RELATIONS_FILE), options, providers=providers)
        columns = {i.name: i.shape for i in self.relations.get_inputs()}["pairs"][1]
        if isinstance(columns, int) and columns != PAIR_COLUMNS:
            raise ValueError(f"{folder}: exported for {columns} pair features, this code makes {PAIR_COLUMNS}: "
                             f"run `jianbao export-onnx {model_dir}` again")

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> tuple[Any, np.ndarray]:
        hidden, logits = self.encoder.run(None, {"input_ids": ids, "attention_mask": mask})
        return hidden, logits

    def relation_logits(self, hidden: Any, ents: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        return self.relations.run(None, {"hidden": hidden, "ents": ents, "pairs": pairs})[0]


def _torch_runtime(model_dir: str | Path, threads: int = 0, quantize: bool = False) -> TorchRuntime:
    from pipeline.models.network import load_bundle

    net, _ = load_bundle(model_dir)
    if quantize:
        import torch

        net = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
    return TorchRuntime(net, threads)


def has_onnx(model_dir: str | Path) -> bool:
    folder = Path(model_dir) / ONNX_DIR
    return (folder / ENCODER_FILE).exists() and (folder / RELATIONS_FILE).exists()


def _onnx_runtime(model_dir: str | Path, threads: int = 0, quantize: bool = False) -> OnnxRuntime:
    if not has_onnx(model_dir):
        raise FileNotFoundError(f"{model_dir}: no ONNX export (run `jianbao export-onnx {model_dir}`)")
    return OnnxRuntime(model_dir, threads)


RUNTIMES.register("torch")(_torch_runtime)
RUNTIMES.register("onnx")(_onnx_runtime)


def open_runtime(model_dir: str | Path, name: str = "auto", threads: int = 0, quantize: bool = False) -> Runtime:
    """`auto`: the ONNX export when the bundle has one, else the torch network."""
    if name == "auto":
        name = "onnx" if has_onnx(model_dir) else "torch"
    return RUNTIMES.get(name)(model_dir, threads=threads, quantize=quantize)


def export_onnx(net: Any, out_dir: str | Path, quantize: bool = True) -> dict[str, Any]:
    """Write <out_dir>/onnx/{encoder,relations}.onnx from an ExtractorNet (eager attention, so that
    ONNX Runtime can run it fused); int8 dynamic quantisation of the encoder's weights when asked."""
    import tempfile

    import torch

    from pipeline.models.network import EncodeView, RelationView

    folder = Path(out_dir) / ONNX_DIR
    folder.mkdir(parents=True, exist_ok=True)
    net = net.float().eval()
    enc = net.encoder
    previous = getattr(enc.config, "_attn_implementation", None)
    if hasattr(enc, "set_attn_implementation"):
        enc.set_attn_implementation("eager")
    try:
        encode = EncodeView(net)
        ids = torch.randint(5, 100, (2, 16))
        mask = torch.ones_like(ids)
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / ENCODER_FILE
            with torch.no_grad():
                torch.onnx.export(encode, (ids, mask), str(raw), input_names=["input_ids", "attention_mask"],
                                  output_names=["hidden", "tag_logits"], opset_version=17, dynamo=False,
                                  dynamic_axes={n: {0: "batch", 1: "length"} for n in
                                                ("input_ids", "attention_mask", "hidden", "tag_logits")})
            if quantize:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                # 7-bit weights: CPUs without VNNI multiply u8×s8 pairs into int16, which full-range
                # weights can overflow (a tiny model lost 10 points of F1 on such a CPU)
                quantize_dynamic(str(raw), str(folder / ENCODER_FILE), weight_type=QuantType.QInt8, reduce_range=True)
            else:
                (folder / ENCODER_FILE).write_bytes(raw.read_bytes())
        with torch.no_grad():
            hidden, _ = net.encode(ids, mask)
            ents = torch.tensor([[0, 1, 2, 0], [0, 4, 5, 4], [1, 1, 3, 1]])
            pairs = torch.tensor([[1, 0, 16, 0, 0] + [0] * (PAIR_COLUMNS - 5), [1, 2, 17, 1, 1] + [1] * (PAIR_COLUMNS - 5)])
            torch.onnx.export(RelationView(net), (hidden, ents, pairs), str(folder / RELATIONS_FILE),
                              input_names=["hidden", "ents", "pairs"], output_names=["rel_logits"],
                              opset_version=17, dynamo=False,
                              dynamic_axes={"hidden": {0: "batch", 1: "length"}, "ents": {0: "entities"},
                                            "pairs": {0: "pairs"}, "rel_logits": {0: "pairs"}})
    finally:
        if previous and hasattr(enc, "set_attn_implementation"):
            enc.set_attn_implementation(previous)
    return {"runtime": "onnx", "quantized": quantize,
            "bytes": sum(f.stat().st_size for f in folder.glob("*.onnx"))}
