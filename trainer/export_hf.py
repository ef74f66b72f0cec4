"""Write a trained model as a Hugging Face Llama checkpoint (config.json + model.safetensors),
loadable offline with `LlamaForCausalLM.from_pretrained(out_dir)` and by Llama-format tools.

Our RoPE already uses HF's rotate_half layout, so weights copy over unpermuted; only the
fused projections are split (wqkv -> q/k/v_proj, w_gate_up -> gate/up_proj).

With the tokenizer, HF tools must feed prompts as training did: every document started with
BOS, so the exported tokenizer.json gets a post-processor that prepends it (`tok(prompt)`,
`pipeline()`, lm-eval), generation_config.json names bos/eos/pad, and README.md is a model
card with the run's lineage. Files are written world-readable (0644) whatever the umask.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from edumix.trainer.model import Transformer
from edumix.trainer.rope import longrope_uses_long, ntk_base

_SPECIAL = ("bos", "eos", "pad")


def hf_config(model: Transformer, special_tokens: dict | None = None) -> dict:
    """LlamaConfig fields. RoPE goes both in the legacy keys (rope_theta, rope_scaling, read by
    older transformers and most Llama tools) and in transformers 5's rope_parameters; the two
    say the same (transformers 5 prefers rope_scaling when both are there). Per variant
    (trainer/rope.py): ntk is written as a plain RoPE with its rescaled base (HF's "dynamic"
    would re-derive the base per input length); longrope, when the model uses its long
    factors (max_seq_len > original), writes them as short_factor too, since HF re-chooses per
    forward call and would use the short ones on inputs up to the original length."""
    c = model.cfg
    _refuse_blocksparse(c)
    spec = c.rope_spec
    theta = ntk_base(c.rope_base, c.head_dim, spec.factor) if spec.type == "ntk" else c.rope_base
    scaling: dict | None = None
    if spec.type in ("linear", "yarn", "longrope", "llama3"):
        scaling = {"rope_type": spec.type, "factor": spec.factor}
    if spec.type in ("yarn", "longrope", "llama3"):
        scaling["original_max_position_embeddings"] = spec.original_max_position_embeddings
    if spec.type in ("yarn", "longrope") and spec.attention_factor is not None:
        scaling["attention_factor"] = spec.attention_factor
    if spec.type == "yarn":
        scaling |= {"beta_fast": spec.beta_fast, "beta_slow": spec.beta_slow}
    elif spec.type == "longrope":
        long = list(spec.long_factor)
        short = long if longrope_uses_long(spec, c.max_seq_len) else list(spec.short_factor)
        scaling |= {"short_factor": short, "long_factor": long}
    elif spec.type == "llama3":
        scaling |= {"low_freq_factor": spec.low_freq_factor, "high_freq_factor": spec.high_freq_factor}
    rope = {"rope_type": "default"} if scaling is None else dict(scaling)
    rope["rope_theta"] = theta
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": c.vocab_size,
        "hidden_size": c.dim,
        "intermediate_size": c.hidden,
        "num_hidden_layers": c.n_layers,
        "num_attention_heads": c.n_heads,
        "num_key_value_heads": c.n_kv_heads,
        "head_dim": c.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": c.max_seq_len,
        "rms_norm_eps": c.norm_eps,
        "rope_theta": theta,
        "rope_scaling": scaling,
        "rope_parameters": rope,
        "tie_word_embeddings": c.tie_embeddings,
        "attention_bias": False,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "use_cache": True,
        "torch_dtype": str(model.tok_emb.weight.dtype).removeprefix("torch."),
    }
    for name in _SPECIAL:  # explicit nulls: LlamaConfig would otherwise default to bos=1, eos=2
        token_id = _special_id(special_tokens, name)
        cfg[f"{name}_token_id"] = None if token_id is None else int(token_id)
    return cfg


def _refuse_blocksparse(c) -> None:
    if c.blocksparse is not None:
        raise ValueError(
            "cannot export a blocksparse model (model.blocksparse) as HF Llama: Llama has no "
            "blocksparse attention, so its logits would differ"
        )


def _special_id(special_tokens: dict | None, name: str) -> int | None:
    """special_tokens may say {"bos": 1} or {"bos_token_id": 1}."""
    if not special_tokens:
        return None
    return next((special_tokens[k] for k in (name, f"{name}_token_id") if special_tokens.get(k) is not None), None)


def hf_state_dict(model: Transformer) -> dict[str, torch.Tensor]:
    c = model.cfg
    q, kv = c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim
    sd = {"model.embed_tokens.weight": model.tok_emb.weight, "model.norm.weight": model.norm.weight}
    if not c.tie_embeddings:  # tied: HF re-ties lm_head to embed_tokens on load
        sd["lm_head.weight"] = model.lm_head.weight
    for i, layer in enumerate(model.layers):
        p = f"model.layers.{i}."
        wq, wk, wv = layer.attn.wqkv.weight.split([q, kv, kv], dim=0)
        gate, up = layer.mlp.w_gate_up.weight.split(layer.mlp.hidden, dim=0)
        sd |= {
            p + "self_attn.q_proj.weight": wq,
            p + "self_attn.k_proj.weight": wk,
            p + "self_attn.v_proj.weight": wv,
            p + "self_attn.o_proj.weight": layer.attn.wo.weight,
            p + "mlp.gate_proj.weight": gate,
            p + "mlp.up_proj.weight": up,
            p + "mlp.down_proj.weight": layer.mlp.w_down.weight,
            p + "input_layernorm.weight": layer.attn_norm.weight,
            p + "post_attention_layernorm.weight": layer.mlp_norm.weight,
        }
    return {k: v.detach().cpu().contiguous().clone() for k, v in sd.items()}


def export_hf(
    model: Transformer,
    out_dir: str | Path,
    tokenizer_json: str | Path | None = None,
    special_tokens: dict | None = None,
    meta: dict | None = None,
) -> Path:
    """special_tokens: ids by name, {"bos": 1, "eos": 2, "pad": 0} (or "bos_token_id" keys).
    With tokenizer_json, also writes tokenizer_config.json so AutoTokenizer loads it too.
    meta: the checkpoint's meta.json (phase, step, tokens, lineage) for the model card."""
    out = Path(out_dir)
    _refuse_blocksparse(model.cfg)  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(hf_config(model, special_tokens), indent=2) + "\n")
    save_file(hf_state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    generation = {name + "_token_id": _special_id(special_tokens, name) for name in _SPECIAL}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    if tokenizer_json is not None:
        _write_tokenizer(out, Path(tokenizer_json), special_tokens, model.cfg.max_seq_len)
    (out / "README.md").write_text(model_card(model, special_tokens, meta or {}))
    for path in out.iterdir():
        path.chmod(0o644)
    return out


def _write_tokenizer(out: Path, tokenizer_json: Path, special_tokens: dict | None, max_len: int) -> None:
    """tokenizer.json with BOS prepended on encode (as the training data had it) + tokenizer_config.json."""
    from tokenizers import Tokenizer
    from tokenizers.processors import TemplateProcessing

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok_cfg: dict = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_len}
    for name in _SPECIAL:
        token_id = _special_id(special_tokens, name)
        if token_id is not None and tok.id_to_token(int(token_id)) is not None:
            tok_cfg[f"{name}_token"] = tok.id_to_token(int(token_id))
    bos = tok_cfg.get("bos_token")
    if bos is not None:
        bos_id = int(_special_id(special_tokens, "bos"))
        tok.post_processor = TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    tok_cfg["add_bos_token"], tok_cfg["add_eos_token"] = bos is not None, False
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")


def model_card(model: Transformer, special_tokens: dict | None, meta: dict) -> str:
    """A Hub model card: what the model is and where its data came from (lineage hashes)."""
    c = model.cfg
    lineage = meta.get("lineage") or {}
    rows = [
        ("parameters", f"{model.num_params(non_embedding=False):,}"),
        ("layers / dim / heads (kv)", f"{c.n_layers} / {c.dim} / {c.n_heads} ({c.n_kv_heads})"),
        ("context", f"{c.max_seq_len} tokens, RoPE base {c.rope_base:g}, {_rope_words(c)}"),
        ("phase", str(meta.get("phase", "-"))),
        ("step / tokens seen", f"{meta.get('step', '-')} / {meta.get('tokens', '-')}"),
    ] + [(f"data {k.replace('_', ' ')}", f"`{v}`") for k, v in sorted(lineage.items()) if v]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    bos = _special_id(special_tokens, "bos")
    return f"""---
library_name: transformers
pipeline_tag: text-generation
tags: [edumix, llama]
---

# edumix model

A Llama-architecture model pretrained with edumix on a curated data mix.

| | |
|---|---|
{table}

Training wrapped every document in BOS ... EOS, so the tokenizer prepends BOS (id {bos}) on
encode: `model.generate(**tok(prompt, return_tensors="pt"))` and `pipeline("text-generation")`
see prompts as training did. The `recipe hash` names the exact curated mix (edumix's
`mix_manifest.json`) the model was trained on.
"""


def _rope_words(c) -> str:
    """The RoPE variant in the card's words: `linear x2`, `yarn x4 from 1024`, ..."""
    rope = getattr(c, "rope", None)
    if rope is None or rope.type == "default":
        return f"linear scaling {c.rope_scaling:g}" if c.rope_scaling != 1.0 else "plain RoPE"
    since = f" from {rope.original_max_position_embeddings}" if rope.original_max_position_embeddings else ""
    return f"{rope.type} x{rope.factor:g}{since}"
