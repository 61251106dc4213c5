"""Import checkpoints trained with the reference HadamRNN code (deel-ai-papers/hadamRNN).

The reference's single-layer `BinadamSSM` (and `BinadamSSMwithEmbeddings`) computes

    h_t = W h_{t-1} + U x_t + b,    y_t = V relu(h_t) + c,    h_0 = 0

with W = diag(torch.sign(u)) . blockdiag(H_m, ...) / sqrt(m), U quantized to NUM_BITS bits in
the forward pass, V quantized likewise when QOUTPUT is true, a readout at every step
(MANYTOMANY) or at the last step. That is hadamhw's `HadamRNN` in mode 'linear'; this module
maps a reference state dict plus the MODEL section of its YAML experiment config onto a
`ModelConfig` and a hadamhw state dict, refusing whatever the mapping cannot represent exactly.

State-dict keys of the reference (n hidden, d_in inputs, d_out outputs):

    input_layer.parametrizations.weight.original   (n, d_in)   U latent (input_layer.weight
                                                               when NUM_BITS is null)
    recurrent_layer.sign_vector                    (1, n)      u; the same tensor again as
    recurrent_layer.parametrizations.weight.0.sign_vector
    recurrent_layer.bias                           (n,)        b, when BIAS
    recurrent_layer.parametrizations.weight.original (n, n)    not used by the forward pass
    output_layer.parametrizations.weight.original  (d_out, n)  V latent (output_layer.weight
                                                               when V is a plain nn.Linear)
    output_layer.bias                              (d_out,)    c, when BIAS_FINAL
    word_embedding.weight                          (vocab, d_in) embedding models only
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from hadamhw.errors import HadamhwError
from hadamhw.nn.model import HadamRNN, ModelConfig
from hadamhw.nn.quant import quantize_codes
from hadamhw.tasks import EMBEDDING_TASKS, GLUE_TASKS

REFERENCE_CODE = "deel-ai-papers/hadamRNN"

SUPPORTED_MODELS = {"binadamssm": False, "binadamssmwithembeddings": True}  # name -> embedding
UNSUPPORTED_MODELS = {
    "qrnn": "a dense quantized recurrent matrix, not a Hadamard one",
    "qssm": "a dense quantized recurrent matrix, not a Hadamard one",
    "qssmwithembeddings": "a dense quantized recurrent matrix, not a Hadamard one",
    "spectralqssm": "a spectral (dense, orthogonalized) recurrent matrix, not a Hadamard one",
}

U_QUANTIZED = "input_layer.parametrizations.weight.original"
U_PLAIN = "input_layer.weight"
SIGNS = "recurrent_layer.sign_vector"
SIGNS_ALIAS = "recurrent_layer.parametrizations.weight.0.sign_vector"
W_UNUSED = "recurrent_layer.parametrizations.weight.original"
RECURRENT_BIAS = "recurrent_layer.bias"
V_QUANTIZED = "output_layer.parametrizations.weight.original"
V_PLAIN = "output_layer.weight"
OUTPUT_BIAS = "output_layer.bias"
EMBEDDING = "word_embedding.weight"
SECOND_LAYER_PREFIXES = ("input_layer_2.", "recurrent_layer_2.")
WRAPPER_KEYS = ("state_dict", "model_state_dict")

# hadamhw's copy task: ten digits, vocabulary 10 (the reference's SENT_LENGTH and VOCABULARY).
COPY_DIGITS = 10
COPY_VOCAB = 10
# DATASET.NAME of a reference config -> the hadamhw task it implies when --task is not given.
DATASET_TASKS = {"copymemory": "copy", "imdb": "imdb"}
# DATASET.NAME GLUE: DATASET.TASK names the task when it is one of GLUE_TASKS.
EMBEDDING_PADDING_ID = 0  # BinadamSSMwithEmbeddings: nn.Embedding(..., padding_idx=0)
PERMUTED_TASKS = ("pmnist", "pdigits")  # hadamhw's permutations, not the reference's


@dataclass(frozen=True)
class ReferenceConfig:
    """The MODEL section of a reference experiment config, checked and normalised."""

    name: str  # as written in the YAML
    embedding: bool
    hidden_size: int
    input_size: int
    output_size: int
    block_size: int  # m = 2^BASIC_BLOCK, or n for 'full'
    num_bits: int | None  # None: U (and V) stay float
    qoutput: bool
    bias: bool
    bias_final: bool
    manytomany: bool
    vocab_size: int | None = None
    dataset: dict = field(default_factory=dict)  # DATASET section, keys lower-cased
    model: dict = field(default_factory=dict)  # MODEL section scalars, keys lower-cased

    @property
    def output_quantized(self) -> bool:
        return self.qoutput and self.num_bits is not None


@dataclass
class ImportResult:
    model: HadamRNN
    reference: ReferenceConfig
    task: dict | None  # task metadata for the checkpoint (lowering calibrates on it)
    provenance: dict  # goes into the checkpoint's 'training' field
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------
# The YAML experiment config


def _scalar_items(section: dict) -> dict:
    """The plain scalar entries, for the record in the checkpoint (safe for weights_only)."""
    return {k: v for k, v in section.items()
            if v is None or isinstance(v, (bool, int, float, str))}


def _bool(model: dict, key: str, default: bool, where: str) -> bool:
    value = model.get(key.lower(), default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise HadamhwError(f"{where}.{key} must be true or false, got {value!r}")


def _positive_int(model: dict, key: str, where: str) -> int:
    if key.lower() not in model:
        raise HadamhwError(f"{where}.{key} is missing")
    value = model[key.lower()]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HadamhwError(f"{where}.{key} must be a positive integer, got {value!r}")
    return value


def _block_size(model: dict, hidden: int, where: str) -> int:
    if "basic_block" not in model:
        raise HadamhwError(f"{where}.BASIC_BLOCK is missing ('full', or k for blocks of 2^k)")
    value = model["basic_block"]
    if isinstance(value, str) and value.strip().lower() == "full":
        if hidden < 2 or hidden & (hidden - 1):
            raise HadamhwError(f"{where}.BASIC_BLOCK 'full' needs HIDDEN_SIZE a power of two "
                               f">= 2, got {hidden}")
        return hidden
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HadamhwError(f"{where}.BASIC_BLOCK must be 'full' or an integer k >= 1 (blocks "
                           f"of 2^k), got {value!r}")
    if value == 0:
        raise HadamhwError(f"{where}.BASIC_BLOCK 0 (block size 1: W is a diagonal sign matrix) "
                           "is not supported; hadamhw needs Hadamard blocks of size >= 2")
    block = 1 << value
    if hidden % block:
        raise HadamhwError(f"{where}.BASIC_BLOCK {value} (block size {block}) does not divide "
                           f"HIDDEN_SIZE {hidden}")
    return block


def _num_bits(model: dict, where: str) -> int | None:
    if "num_bits" not in model:
        raise HadamhwError(f"{where}.NUM_BITS is missing (the bits of U and V; null for float)")
    value = model["num_bits"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise HadamhwError(f"{where}.NUM_BITS must be an integer or null, got {value!r}")
    if value == 1:
        raise HadamhwError(f"{where}.NUM_BITS 1 is not supported: the reference's 1-bit "
                           "quantizer is ternary (codes -1, 0, 1), hadamhw's p-bit codes are "
                           "two's complement")
    if value < 2:
        raise HadamhwError(f"{where}.NUM_BITS must be >= 2 (or null for float), got {value}")
    return value


def _check_activations(model: dict, manytomany: bool, where: str) -> None:
    # The reference applies MODEL.ACTIVATION to the state before the readout; hadamhw's
    # readout is relu. A missing entry is taken as the reference's ReLU.
    if "activation" in model:
        value = model["activation"]
        name = value.lstrip("$").rsplit(".", 1)[-1] if isinstance(value, str) else None
        if name != "ReLU":
            raise HadamhwError(f"{where}.ACTIVATION {value!r} is not supported: the imported "
                               "readout is y = V relu(h) + c ($torch.nn.ReLU)")
    final = model.get("activation_final")
    if final is not None and not manytomany:
        raise HadamhwError(f"{where}.ACTIVATION_FINAL {final!r} is not supported: hadamhw's "
                           "readout ends at V relu(h) + c (use null)")


def reference_config_from_sections(model: dict, dataset: dict | None = None,
                                   where: str = "MODEL") -> ReferenceConfig:
    """Check the MODEL section (keys in any case, as the reference reads them)."""
    if not isinstance(model, dict):
        raise HadamhwError(f"{where} must be a mapping, got {type(model).__name__}")
    model = {str(k).lower(): v for k, v in model.items()}
    dataset = {str(k).lower(): v for k, v in (dataset or {}).items()}
    if "name" not in model:
        raise HadamhwError(f"{where}.NAME is missing (BinadamSSM or BinadamSSMwithEmbeddings)")
    name = str(model["name"]).strip()
    key = name.lower()
    if key in UNSUPPORTED_MODELS:
        raise HadamhwError(f"{where}.NAME {name!r} is not supported: it has "
                           f"{UNSUPPORTED_MODELS[key]}; hadamhw imports BinadamSSM and "
                           "BinadamSSMwithEmbeddings")
    if key not in SUPPORTED_MODELS:
        raise HadamhwError(f"{where}.NAME {name!r} is not supported; hadamhw imports "
                           "BinadamSSM and BinadamSSMwithEmbeddings")
    if not _bool(model, "SINGLE_LAYER", False, where):
        stated = "false" if "single_layer" in model else "missing (reference default: false)"
        raise HadamhwError(f"two-layer BinadamSSM is not supported ({where}.SINGLE_LAYER is "
                           f"{stated}); hadamhw imports single-layer models")
    hidden = _positive_int(model, "HIDDEN_SIZE", where)
    input_size = _positive_int(model, "INPUT_SIZE", where)
    output_size = _positive_int(model, "OUTPUT_SIZE", where)
    block = _block_size(model, hidden, where)
    bits = _num_bits(model, where)
    manytomany = _bool(model, "MANYTOMANY", False, where)
    _check_activations(model, manytomany, where)
    vocab = None
    if model.get("vocab_size") is not None:
        vocab = _positive_int(model, "VOCAB_SIZE", where)
    return ReferenceConfig(
        name=name, embedding=SUPPORTED_MODELS[key], hidden_size=hidden, input_size=input_size,
        output_size=output_size, block_size=block, num_bits=bits,
        qoutput=_bool(model, "QOUTPUT", False, where), bias=_bool(model, "BIAS", True, where),
        bias_final=_bool(model, "BIAS_FINAL", True, where), manytomany=manytomany,
        vocab_size=vocab, dataset=_scalar_items(dataset), model=_scalar_items(model))


def read_reference_config(path: str | Path) -> ReferenceConfig:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise HadamhwError(f"{path}: cannot read config ({exc})") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:200]
        raise HadamhwError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise HadamhwError(f"{path}: not a reference experiment config (expected a YAML "
                           "mapping with a MODEL section)")
    sections = {str(k).lower(): v for k, v in data.items()}
    if not isinstance(sections.get("model"), dict):
        raise HadamhwError(f"{path}: no MODEL section (a reference experiment config has MODEL "
                           "with NAME, HIDDEN_SIZE, INPUT_SIZE, OUTPUT_SIZE, BASIC_BLOCK, ...)")
    dataset = sections.get("dataset")
    return reference_config_from_sections(sections["model"],
                                          dataset if isinstance(dataset, dict) else None,
                                          where=f"{path}: MODEL")


# ----------------------------------------------------------------------------------------
# The state dict


def read_reference_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A bare state dict, or one inside {'state_dict': ...} / {'model_state_dict': ...}."""
    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such state dict file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt, foreign or unsafe files
        raise HadamhwError(f"{path}: not a readable PyTorch state dict: the file is not a "
                           "torch.save file, is truncated, or holds objects other than tensors "
                           f"and plain values, which are refused for safety "
                           f"({type(exc).__name__})") from None
    if isinstance(payload, dict) and payload.get("format") == "hadamhw-checkpoint":
        raise HadamhwError(f"{path}: is already a hadamhw checkpoint; nothing to import")
    if isinstance(payload, dict):
        for key in WRAPPER_KEYS:
            if isinstance(payload.get(key), dict):
                payload = payload[key]
                break
    if not isinstance(payload, dict):
        raise HadamhwError(f"{path}: not a state dict (expected a mapping of parameter names "
                           f"to tensors, found a {type(payload).__name__})")
    if not payload:
        raise HadamhwError(f"{path}: the state dict is empty")
    for key, value in payload.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise HadamhwError(f"{path}: not a state dict (entry {key!r} is a "
                               f"{type(value).__name__}, expected a tensor)")
    state = dict(payload)
    # torch.nn.DataParallel saves every name under 'module.'.
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def reference_codes(weight: torch.Tensor, bits: int) -> tuple[torch.Tensor, float]:
    """The reference quantizer's integer codes and alpha, in its arithmetic.

    alpha = max(|min w|, |max w|) (1 when that is 0); q = clamp(round(w * (2^(p-1) / alpha)),
    -2^(p-1), 2^(p-1) - 1) with the factor rounded to w's dtype first, as a tensor-scalar
    product does; the weight in the forward pass is q * alpha / 2^(p-1).
    """
    levels = 2 ** (bits - 1)
    alpha = max(abs(float(weight.min())), abs(float(weight.max())))
    if alpha == 0.0:
        alpha = 1.0
    factor = torch.tensor(levels / alpha, dtype=weight.dtype)
    codes = torch.clamp(torch.round(weight * factor), -levels, levels - 1)
    return codes.to(torch.int64), alpha


def canonical_latent(weight: torch.Tensor, bits: int, what: str) -> torch.Tensor:
    """A float32 latent whose hadamhw quantization gives exactly the reference's codes.

    hadamhw re-quantizes the latent in its own arithmetic (float32 in the forward pass,
    float64 in lowering); a latent that sits within rounding error of a code boundary could
    land on the other side there. The latent q * alpha / 2^(p-1), with the entries that define
    alpha kept at +-alpha so that the scale is unchanged, is far from every boundary and has
    the same quantized value as the original.
    """
    levels = 2 ** (bits - 1)
    codes, alpha = reference_codes(weight, bits)
    wide = weight.double()
    latent = codes.double() * (alpha / levels)
    latent = torch.where(wide.abs() == alpha, torch.sign(wide) * alpha, latent).float()
    for dtype in (torch.float32, torch.float64):
        again, _ = quantize_codes(latent.to(dtype), bits)
        if not torch.equal(again.to(torch.int64), codes):
            raise RuntimeError(f"internal error: the canonical latent of {what} does not "
                               f"reproduce the reference codes in {dtype}")
    return latent


def _pick(state: dict, quantized_key: str, plain_key: str) -> str | None:
    """The key under which a (possibly parametrized) weight is stored."""
    if quantized_key in state and plain_key in state:
        raise HadamhwError(f"state dict holds both {quantized_key} and {plain_key}; "
                           "expected one of them")
    if quantized_key in state:
        return quantized_key
    return plain_key if plain_key in state else None


def _check_tensor(state: dict, key: str, shape: tuple[int, ...], meaning: str) -> torch.Tensor:
    tensor = state[key]
    if tuple(tensor.shape) != shape:
        raise HadamhwError(f"{key} has shape {tuple(tensor.shape)}, the YAML implies {shape} "
                           f"({meaning})")
    if not tensor.is_floating_point():
        raise HadamhwError(f"{key} has dtype {tensor.dtype}, expected floating point")
    bad = (~torch.isfinite(tensor)).nonzero()
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        raise HadamhwError(f"{key} holds a non-finite value at index {index}")
    return tensor


def convert_reference(state: dict[str, torch.Tensor], cfg: ReferenceConfig,
                      input_kind: str | None = None) -> HadamRNN:
    """The hadamhw model whose forward pass is the reference model's forward pass."""
    n, d_in, d_out = cfg.hidden_size, cfg.input_size, cfg.output_size
    second = sorted(k for k in state if k.startswith(SECOND_LAYER_PREFIXES))
    if second:
        raise HadamhwError(f"two-layer BinadamSSM is not supported (the state dict has "
                           f"second-layer keys {', '.join(second[:3])}); hadamhw imports "
                           "single-layer models")
    if EMBEDDING in state and not cfg.embedding:
        raise HadamhwError(f"the state dict has {EMBEDDING} but MODEL.NAME is {cfg.name!r}; "
                           "an embedding model is BinadamSSMwithEmbeddings")

    u_key = _pick(state, U_QUANTIZED, U_PLAIN)
    v_key = _pick(state, V_QUANTIZED, V_PLAIN)
    sign_keys = [k for k in (SIGNS, SIGNS_ALIAS) if k in state]
    required = {
        U_QUANTIZED if cfg.num_bits is not None else U_PLAIN: u_key,
        SIGNS: sign_keys[0] if sign_keys else None,
        V_QUANTIZED if cfg.output_quantized else V_PLAIN: v_key,
    }
    if cfg.bias:
        required[RECURRENT_BIAS] = RECURRENT_BIAS if RECURRENT_BIAS in state else None
    if cfg.bias_final:
        required[OUTPUT_BIAS] = OUTPUT_BIAS if OUTPUT_BIAS in state else None
    if cfg.embedding:
        required[EMBEDDING] = EMBEDDING if EMBEDDING in state else None
    missing = [name for name, found in required.items() if found is None]
    if missing:
        raise HadamhwError(f"the state dict has no {missing[0]} (needed for {cfg.name} with "
                           "this MODEL section)")
    if RECURRENT_BIAS in state and not cfg.bias:
        raise HadamhwError(f"the state dict has {RECURRENT_BIAS} but MODEL.BIAS is false")
    if OUTPUT_BIAS in state and not cfg.bias_final:
        raise HadamhwError(f"the state dict has {OUTPUT_BIAS} but MODEL.BIAS_FINAL is false")
    known = {u_key, v_key, W_UNUSED, *sign_keys, RECURRENT_BIAS, OUTPUT_BIAS, EMBEDDING}
    unexpected = sorted(set(state) - known)
    if unexpected:
        raise HadamhwError(f"unexpected key(s) {', '.join(unexpected[:3])} in the state dict: "
                           f"not part of a single-layer {cfg.name}")

    u = _check_tensor(state, u_key, (n, d_in), "HIDDEN_SIZE x INPUT_SIZE")
    v = _check_tensor(state, v_key, (d_out, n), "OUTPUT_SIZE x HIDDEN_SIZE")
    signs = []
    for key in sign_keys:
        shape = tuple(state[key].shape)
        if shape not in ((1, n), (n,)):
            raise HadamhwError(f"{key} has shape {shape}, the YAML implies (1, {n}) "
                               "(1 x HIDDEN_SIZE)")
        signs.append(_check_tensor(state, key, shape, "1 x HIDDEN_SIZE").reshape(n))
    if len(signs) == 2 and not torch.equal(signs[0], signs[1]):
        raise HadamhwError(f"{SIGNS} and {SIGNS_ALIAS} differ; the reference stores one tensor "
                           "under both names")
    sign_latent = signs[0]
    zeros = (sign_latent == 0).nonzero().flatten()
    if len(zeros):
        raise HadamhwError(f"{sign_keys[0]}[{int(zeros[0])}] is exactly 0: the reference's "
                           f"torch.sign gives row {int(zeros[0])} of W a zero sign (W is then "
                           "not orthogonal), which hadamhw cannot represent (its sign maps 0 "
                           "to +1)")
    if W_UNUSED in state:
        _check_tensor(state, W_UNUSED, (n, n), "HIDDEN_SIZE x HIDDEN_SIZE")

    vocab = None
    if cfg.embedding:
        table = state[EMBEDDING]
        if table.dim() != 2 or table.shape[1] != d_in:
            raise HadamhwError(f"{EMBEDDING} has shape {tuple(table.shape)}, the YAML implies "
                               f"(vocabulary, {d_in}) (vocabulary x INPUT_SIZE)")
        vocab = int(table.shape[0])
        if cfg.vocab_size is not None and cfg.vocab_size != vocab:
            raise HadamhwError(f"{EMBEDDING} has {vocab} rows but MODEL.VOCAB_SIZE is "
                               f"{cfg.vocab_size}")
        _check_tensor(state, EMBEDDING, (vocab, d_in), "vocabulary x INPUT_SIZE")
        if input_kind not in (None, "embedding"):
            raise HadamhwError(f"input kind {input_kind!r} does not apply: this {cfg.name} "
                               "model takes token ids through its word embedding")
        input_kind = "embedding"
    elif input_kind == "embedding":
        raise HadamhwError(f"input kind 'embedding' needs {EMBEDDING}, which {cfg.name} "
                           "does not have")
    input_kind = input_kind or "real"

    config = ModelConfig(
        input_size=d_in, hidden_size=n, output_size=d_out, block_size=cfg.block_size,
        weight_bits=cfg.num_bits, mode="linear",
        readout="every" if cfg.manytomany else "last", input_kind=input_kind,
        vocab_size=vocab, padding_idx=EMBEDDING_PADDING_ID if cfg.embedding else None,
        bias=cfg.bias, output_bias=cfg.bias_final,
        quantize_output=cfg.qoutput)
    model = HadamRNN(config)

    # A float64 latent below float32's range would turn into 0, which hadamhw reads as +1.
    sign32 = sign_latent.float()
    sign32 = torch.where(sign32 == 0, torch.sign(sign_latent).float(), sign32)
    weights = {
        "input_layer.weight": (canonical_latent(u, cfg.num_bits, u_key)
                               if cfg.num_bits is not None else u.float()),
        "recurrent.sign_latent": sign32,
        "output_layer.weight": (canonical_latent(v, cfg.num_bits, v_key)
                                if cfg.output_quantized else v.float()),
    }
    if cfg.bias:
        weights["recurrent.bias"] = _check_tensor(state, RECURRENT_BIAS, (n,),
                                                  "HIDDEN_SIZE").float()
    if cfg.bias_final:
        weights["output_layer.bias"] = _check_tensor(state, OUTPUT_BIAS, (d_out,),
                                                     "OUTPUT_SIZE").float()
    if cfg.embedding:
        weights["embedding.weight"] = state[EMBEDDING].float()
    model.load_state_dict(weights, strict=True)
    return model.eval()


# ----------------------------------------------------------------------------------------
# Tasks and the whole import


def _copy_delay(cfg: ReferenceConfig) -> tuple[int, str] | None:
    """The copy-task delay T that the YAML's CopyMemory data set implies, if it names one."""
    data = cfg.dataset
    if str(data.get("name", "")).lower() != "copymemory" or "seq_length" not in data:
        return None
    digits = data.get("sent_length", COPY_DIGITS)
    vocab = data.get("vocabulary", COPY_VOCAB)
    if (digits, vocab) != (COPY_DIGITS, COPY_VOCAB):
        raise HadamhwError(f"the YAML's CopyMemory data set (SENT_LENGTH {digits}, VOCABULARY "
                           f"{vocab}) is not hadamhw's copy task (10 digits, vocabulary 10)")
    length = data["seq_length"]
    if isinstance(length, bool) or not isinstance(length, int) or length <= 2 * COPY_DIGITS:
        raise HadamhwError(f"DATASET.SEQ_LENGTH must be an integer > {2 * COPY_DIGITS}, "
                           f"got {length!r}")
    delay = length - 2 * COPY_DIGITS
    return delay, f"delay T = {delay} from DATASET.SEQ_LENGTH {length}"


def _imdb_steps(cfg: ReferenceConfig) -> tuple[int, str] | None:
    """The review length T that the YAML's IMDB data set names, if it does."""
    data = cfg.dataset
    if str(data.get("name", "")).lower() != "imdb" or "seq_length" not in data:
        return None
    steps = data["seq_length"]
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise HadamhwError(f"DATASET.SEQ_LENGTH must be a positive integer, got {steps!r}")
    return steps, f"T = {steps} steps from DATASET.SEQ_LENGTH"


def implied_task(cfg: ReferenceConfig) -> str | None:
    """The hadamhw task that the config's DATASET.NAME (and, for GLUE, DATASET.TASK) stands
    for, if any."""
    name = str(cfg.dataset.get("name", "")).lower()
    if name == "glue":
        task = str(cfg.dataset.get("task", "")).lower()
        return task if task in GLUE_TASKS else None
    return DATASET_TASKS.get(name)


def _dataset_words(cfg: ReferenceConfig) -> str:
    """How the config names its data set, for notes: 'DATASET.NAME GLUE, TASK sst2'."""
    words = f"DATASET.NAME {cfg.dataset.get('name')}"
    if "task" in cfg.dataset:
        words += f", TASK {cfg.dataset['task']}"
    return words


def _build_task(cfg: ReferenceConfig, name: str, seq_len: int | None, seed: int,
                data: str | None):
    from hadamhw.tasks import get_task

    note = None
    options = {}
    if name == "copy" and seq_len is None:
        derived = _copy_delay(cfg)
        if derived is not None:
            seq_len, note = derived
    if name in EMBEDDING_TASKS:
        options["embedding_dim"] = cfg.input_size
    if name == "imdb" and seq_len is None:
        derived = _imdb_steps(cfg)
        if derived is not None:
            seq_len, note = derived
    if seq_len is not None and seq_len < 1:
        raise HadamhwError(f"--seq-len must be >= 1, got {seq_len}")
    task = get_task(name, seq_len=seq_len, seed=seed, data=data, **options)
    if note is None and name == "copy":
        note = f"delay T = {task.seq_len}"
    if name in PERMUTED_TASKS:
        note = ("hadamhw's pixel permutation is not the reference's: calibration is sound, "
                "eval accuracy on this task says nothing about a reference-trained model")
    return task, note


def _check_task_fits(task, config: ModelConfig) -> None:
    wanted = {"input kind": (config.input_kind, task.input_kind),
              "input size": (config.input_size, task.input_size),
              "output size": (config.output_size, task.output_size),
              "readout": (config.readout, task.readout),
              "vocabulary": (config.vocab_size, task.vocab_size)}
    for what, (model_value, task_value) in wanted.items():
        if model_value != task_value:
            raise HadamhwError(f"task {task.name} does not fit the model: its {what} is "
                               f"{task_value!r}, the model's is {model_value!r}")


def import_reference(state_path: str | Path, config_path: str | Path,
                     input_kind: str | None = None, task: str | None = None,
                     seq_len: int | None = None, seed: int = 0,
                     data: str | None = None) -> ImportResult:
    """Read, check and convert; attach task metadata when a hadamhw task is named."""
    cfg = read_reference_config(config_path)
    state = read_reference_state_dict(state_path)
    task_obj, notes = None, []
    implied = implied_task(cfg)
    if task is None and implied is not None:
        if implied in EMBEDDING_TASKS and data is None:
            notes.append(f"{_dataset_words(cfg)}: give --data {implied}.npz to record the "
                         f"{implied} task (lowering calibrates on its data)")
        else:
            task = implied
            notes.append(f"task {task} implied by {_dataset_words(cfg)}")
    if task is None and seq_len is not None:
        raise HadamhwError("--seq-len applies with --task copy, imdb, sst2 or qqp")
    if task is not None:
        task_obj, note = _build_task(cfg, task, seq_len, seed, data)
        if note:
            notes.append(f"task {task}: {note}")
        if input_kind is None and not cfg.embedding:
            input_kind = task_obj.input_kind
    model = convert_reference(state, cfg, input_kind)
    if task_obj is not None:
        _check_task_fits(task_obj, model.config)
    else:
        notes.append("no task named: lowering needs --calib-data FILE.npy")
    provenance = {"imported_from": {
        "code": REFERENCE_CODE,
        "state_dict": Path(state_path).name,
        "config": Path(config_path).name,
        "model_section": dict(cfg.model),
    }}
    return ImportResult(model=model, reference=cfg,
                        task=task_obj.metadata() if task_obj is not None else None,
                        provenance=provenance, notes=notes)


def describe(result: ImportResult) -> str:
    c, r = result.model.config, result.reference
    kind = ("HadamRNN (binary)" if c.m == c.hidden_size
            else f"Block-HadamRNN (ternary, block size {c.m}, density {c.m / c.hidden_size:.3g})")
    inputs = f"{c.input_size} ({c.input_kind})"
    if c.input_kind == "embedding":
        inputs = f"vocabulary {c.vocab_size} -> embedding {c.input_size}"
    u_bits = f"{c.weight_bits}-bit" if c.weight_bits is not None else "float"
    v_bits = u_bits if r.output_quantized else "float"
    lines = [
        f"{r.name} -> {kind}: n={c.hidden_size}, inputs {inputs}, outputs {c.output_size}",
        f"  U {u_bits}, V {v_bits}, bias {'on' if c.bias else 'off'}, output bias "
        f"{'on' if c.output_bias else 'off'}, readout {c.readout} "
        f"({'MANYTOMANY' if r.manytomany else 'last step'})",
        f"  sign latents: {int((result.model.recurrent.signs() < 0).sum())} of "
        f"{c.hidden_size} negative",
    ]
    lines.extend(f"  {note}" for note in result.notes)
    return "\n".join(lines)

