"""RoPE variants (trainer/rope.py): each one's inverse frequencies and attention factor equal
transformers' reference (ROPE_INIT_FUNCTIONS), an exported model of each gives HF's Llama the
same logits, and the `rope` config reads from YAML and old meta.json alike. Tiny, CPU."""

from __future__ import annotations

import json

import pytest
import torch

from edumix.trainer.config import TrainConfigError, load_train_config
from edumix.trainer.model import ModelConfig, Transformer
from edumix.trainer.rope import RopeConfig, inv_freq_and_scale

transformers = pytest.importorskip("transformers")
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

V = 101
HD, BASE = 64, 10_000.0
LONG = [1.0 + 0.25 * i for i in range(HD // 2)]
SHORT = [1.0 + 0.01 * i for i in range(HD // 2)]


def hf_llama_config(rope_parameters: dict, max_pos: int):
    return transformers.LlamaConfig(
        hidden_size=4 * HD,
        num_attention_heads=4,
        num_key_value_heads=4,
        head_dim=HD,
        max_position_embeddings=max_pos,
        rope_parameters={**rope_parameters, "rope_theta": BASE},
    )


# (our RopeConfig, max_seq_len, HF rope_parameters, HF rope type, seq_len handed to HF's init function)
CASES = {
    "default": (RopeConfig(), 1024, {"rope_type": "default"}, "default", None),
    "linear": (RopeConfig(type="linear", factor=4.0), 1024, {"rope_type": "linear", "factor": 4.0}, "linear", None),
    # static NTK = HF's dynamic NTK at the length where its own factor equals ours:
    # factor * s / m - (factor - 1) = 4 for factor 4, m 1024 at s = 1792
    "ntk": (RopeConfig(type="ntk", factor=4.0), 1024, {"rope_type": "dynamic", "factor": 4.0}, "dynamic", 1792),
    "yarn": (
        RopeConfig(type="yarn", factor=4.0, original_max_position_embeddings=1024),
        4096,
        {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 1024},
        "yarn",
        None,
    ),
    "yarn_betas": (
        RopeConfig(
            type="yarn",
            factor=8.0,
            original_max_position_embeddings=512,
            beta_fast=16.0,
            beta_slow=2.0,
            attention_factor=1.3,
        ),
        4096,
        {
            "rope_type": "yarn",
            "factor": 8.0,
            "original_max_position_embeddings": 512,
            "beta_fast": 16.0,
            "beta_slow": 2.0,
            "attention_factor": 1.3,
        },
        "yarn",
        None,
    ),
    "longrope_short": (
        RopeConfig(
            type="longrope", factor=4.0, original_max_position_embeddings=1024, short_factor=SHORT, long_factor=LONG
        ),
        1024,  # max_seq_len <= original: the short factors
        {
            "rope_type": "longrope",
            "factor": 4.0,
            "original_max_position_embeddings": 1024,
            "short_factor": SHORT,
            "long_factor": LONG,
        },
        "longrope",
        1024,
    ),
    "longrope_long": (
        RopeConfig(
            type="longrope", factor=4.0, original_max_position_embeddings=1024, short_factor=SHORT, long_factor=LONG
        ),
        4096,  # max_seq_len > original: the long factors (HF: seq_len > original)
        {
            "rope_type": "longrope",
            "factor": 4.0,
            "original_max_position_embeddings": 1024,
            "short_factor": SHORT,
            "long_factor": LONG,
        },
        "longrope",
        4096,
    ),
    "llama3": (
        RopeConfig(type="llama3", factor=8.0, original_max_position_embeddings=1024),
        8192,
        {
            "rope_type": "llama3",
            "factor": 8.0,
            "original_max_position_embeddings": 1024,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
        },
        "llama3",
        None,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_inv_freq_matches_transformers(name):
    rope, max_seq_len, params, hf_type, seq_len = CASES[name]
    ours, scale = inv_freq_and_scale(rope, BASE, HD, max_seq_len)
    config = hf_llama_config(params, 1024 if hf_type == "dynamic" else max_seq_len)
    if hf_type == "default":
        ref, ref_scale = transformers.models.llama.modeling_llama.LlamaRotaryEmbedding.compute_default_rope_parameters(
            config
        )
    else:
        ref, ref_scale = ROPE_INIT_FUNCTIONS[hf_type](config, None, seq_len=seq_len)
    assert ours.shape == (HD // 2,) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=0)
    assert scale == pytest.approx(ref_scale, rel=1e-12)
    if name != "default":
        assert not torch.equal(ours, inv_freq_and_scale(RopeConfig(), BASE, HD, max_seq_len)[0])


def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=V, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=128, rope_base=10_000.0)
    return ModelConfig(**(base | kw))


# head_dim 16 -> 8 longrope factors; original 32 < the 100-token input < max_seq_len 128
_L8, _S8 = [1.0 + 0.5 * i for i in range(8)], [1.0 + 0.05 * i for i in range(8)]
EXPORTS = {
    "default": {},
    "legacy_rope_scaling": {"rope_scaling": 2.0},
    "abf": {"rope_base": 1_000_000.0},
    "linear": {"rope": {"type": "linear", "factor": 4.0}},
    "ntk": {"rope": {"type": "ntk", "factor": 4.0}},
    "yarn": {"rope": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}},
    "longrope_long": {
        "rope": {
            "type": "longrope",
            "factor": 4.0,
            "original_max_position_embeddings": 32,
            "short_factor": _S8,
            "long_factor": _L8,
        }
    },
    "longrope_short": {
        "rope": {
            "type": "longrope",
            "factor": 1.0,
            "original_max_position_embeddings": 128,
            "short_factor": _S8,
            "long_factor": _L8,
        }
    },
    "llama3": {"rope": {"type": "llama3", "factor": 8.0, "original_max_position_embeddings": 32}},
}


@pytest.mark.parametrize("name", list(EXPORTS))
def test_hf_export_logits_match_per_variant(tmp_path, name):
    torch.manual_seed(0)
    model = Transformer(tiny(**EXPORTS[name])).eval()
    with torch.no_grad():  # sharper attention than the N(0, 0.02) init, so RoPE moves the logits
        for layer in model.layers:
            layer.attn.wqkv.weight.mul_(20)
    plain = Transformer(tiny()).eval()
    plain.load_state_dict(model.state_dict())
    transformers.utils.logging.disable_progress_bar()
    from edumix.trainer.export_hf import export_hf

    out = export_hf(model, tmp_path / "hf", special_tokens={"bos": 1, "eos": 2})
    cfg = json.loads((out / "config.json").read_text())
    spec = model.cfg.rope_spec
    assert cfg["rope_parameters"]["rope_type"] == {"ntk": "default"}.get(spec.type, spec.type)
    hf = transformers.LlamaForCausalLM.from_pretrained(out, attn_implementation="sdpa").eval()
    ours = inv_freq_and_scale(spec, model.cfg.rope_base, model.cfg.head_dim, model.cfg.max_seq_len)[0]
    torch.testing.assert_close(hf.model.rotary_emb.inv_freq, ours, rtol=1e-6, atol=0)
    idx = torch.randint(0, V, (2, 100))
    with torch.no_grad():
        diff = (model(idx)[0] - hf(idx).logits).abs().max().item()
        diff_short = (model(idx[:, :20])[0] - hf(idx[:, :20]).logits).abs().max().item()  # below any original length
        moved = (model(idx)[0] - plain(idx)[0]).abs().max().item()
    print(f"HF export max |logit diff| ({name}): {diff:.2e}, 20 tokens {diff_short:.2e}")
    assert diff < 1e-4 and diff_short < 1e-4
    assert (moved > 1e-2) == (name != "default")  # the variant changes the model, so the match means something


def test_old_meta_without_rope_loads_and_default_meta_has_no_rope_key():
    old = {  # a meta.json model_config written before the variants
        "vocab_size": V,
        "dim": 64,
        "n_layers": 2,
        "n_heads": 4,
        "n_kv_heads": 2,
        "ffn_hidden": None,
        "max_seq_len": 128,
        "rope_base": 10_000.0,
        "rope_scaling": 2.0,
        "norm_eps": 1e-5,
        "tie_embeddings": False,
        "attn_impl": "auto",
    }
    cfg = ModelConfig.from_dict(old)
    assert cfg.rope == RopeConfig() and cfg.rope_spec == RopeConfig(type="linear", factor=2.0)
    assert cfg.to_dict() == old  # a plain-RoPE model's meta is unchanged
    yarn = tiny(rope={"type": "yarn", "factor": 4, "original_max_position_embeddings": 32})
    d = json.loads(json.dumps(yarn.to_dict()))
    assert d["rope"] == {"type": "yarn", "factor": 4, "original_max_position_embeddings": 32}
    assert ModelConfig.from_dict(d) == yarn
    with pytest.raises(ValueError, match="both set"):
        tiny(rope_scaling=2.0, rope={"type": "yarn", "factor": 4, "original_max_position_embeddings": 32})
    with pytest.raises(ValueError, match="unknown rope keys"):
        ModelConfig.from_dict({**old, "rope": {"type": "yarn", "fctor": 4}})


def _yaml(tmp_path, rope: str):
    path = tmp_path / "train.yaml"
    path.write_text(
        "model: {vocab_size: 101, dim: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, max_seq_len: 128,"
        f" rope: {rope}}}\ndata: {{seq_len: 64}}\n"
    )
    return path


def test_yaml_rope_section(tmp_path):
    cfg = load_train_config(_yaml(tmp_path, "{type: yarn, factor: 4, original_max_position_embeddings: 32}"))
    mcfg = ModelConfig.from_dict(cfg.model.model_dump())
    assert mcfg.rope == RopeConfig(type="yarn", factor=4.0, original_max_position_embeddings=32)
    with pytest.raises(TrainConfigError, match=r"model\.rope\.type"):
        load_train_config(_yaml(tmp_path, "{type: yarm, factor: 4}"))
    with pytest.raises(TrainConfigError, match=r"model\.rope.*original_max_position_embeddings"):
        load_train_config(_yaml(tmp_path, "{type: llama3, factor: 8}"))
    with pytest.raises(TrainConfigError, match=r"model\.rope\.fctor"):
        load_train_config(_yaml(tmp_path, "{type: linear, fctor: 4}"))
