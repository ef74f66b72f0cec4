"""Write a trained model as a Hugging Face Llama checkpoint (config.json + model.safetensors),
loadable offline with `LlamaForCausalLM.from_pretrained(out_dir)` and by Llama-format tools.

Our RoPE already uses HF's rotate_half layout, so weights copy over unpermuted; only the
fused projections are split (wqkv -> q/k/v_proj, w_gate_up -> gate/up_proj).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from edumix.trainer.model import Transformer

_SPECIAL = ("bos", "eos", "pad")


def hf_config(model: Transformer, special_tokens: dict | None = None) -> dict:
    """LlamaConfig fields. RoPE goes both in the legacy keys (rope_theta, rope_scaling, read by
    older transformers and most Llama tools) and in transformers 5's rope_parameters."""
    c = model.cfg
    rope = {"rope_type": "default", "rope_theta": c.rope_base}
    legacy_scaling = None
    if c.rope_scaling != 1.0:
        rope = {"rope_type": "linear", "factor": c.rope_scaling, "rope_theta": c.rope_base}
        legacy_scaling = {"rope_type": "linear", "factor": c.rope_scaling}
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
        "rope_theta": c.rope_base,
        "rope_scaling": legacy_scaling,
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
) -> Path:
    """special_tokens: ids by name, {"bos": 1, "eos": 2, "pad": 0} (or "bos_token_id" keys).
    With tokenizer_json, also writes tokenizer_config.json so AutoTokenizer loads it too."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(hf_config(model, special_tokens), indent=2) + "\n")
    save_file(hf_state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer_json is not None:
        from tokenizers import Tokenizer

        shutil.copyfile(tokenizer_json, out / "tokenizer.json")
        tok = Tokenizer.from_file(str(tokenizer_json))
        tok_cfg: dict = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": model.cfg.max_seq_len}
        for name in _SPECIAL:
            token_id = _special_id(special_tokens, name)
            if token_id is not None and tok.id_to_token(int(token_id)) is not None:
                tok_cfg[f"{name}_token"] = tok.id_to_token(int(token_id))
        (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")
    return out
