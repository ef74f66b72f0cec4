"""Blocksparse attention (trainer/blocksparse.py): the CPU path and FlexAttention equal the dense
reference with the combined causal AND document AND blocksparse mask; the CPU path computes
only the active blocks; the cache keeps only readable blocks and generates the same tokens.
Tiny dims, CPU, a few seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edumix.trainer.attention import FlexMask, KVCache
from edumix.trainer.blocksparse import (
    BlocksparseConfig,
    BlocksparseKVCache,
    BlocksparseMask,
    SlidingBlocksparseMask,
    allowed,
    block_active,
    build_blocksparse_mask,
    cache_slots,
    dense_mask,
    flex_block_size,
    flex_mask,
    kv_bytes,
    kv_tokens_needed,
)
from edumix.trainer.config import ModelSection, TrainConfigError, load_train_config
from edumix.trainer.export_hf import export_hf
from edumix.trainer.flops import attn_pairs, blocksparse_pairs, model_attn_pairs
from edumix.trainer.generate import generate, generate_batch
from edumix.trainer.model import ModelConfig, Transformer

SP = BlocksparseConfig(block_size=4, local_blocks=2, vert_stride=3, every=2)
V = 101


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def packed(*lengths: int) -> torch.Tensor:
    return torch.cat([torch.arange(n) for n in lengths])


# T = 41 (not a multiple of the block): row 0 starts inside a document (position 5, not on a
# block boundary), then a 1-token document and ragged ones; row 1 one long document then two.
POSITIONS = torch.stack([torch.cat([torch.arange(5, 15), packed(1, 19, 11)]), packed(30, 3, 8)])  # (2, 41)


def qkv(B: int, T: int, H: int = 4, KV: int = 2, hd: int = 8, grad: bool = False):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(B, T, h, hd, dtype=torch.float64, generator=g, requires_grad=grad) for h in (H, KV, KV)]


def reference_mask(positions: torch.Tensor, sp: BlocksparseConfig) -> torch.Tensor:
    """(B, T, T) the combined mask written out token by token, independently of the module."""
    B, T = positions.shape
    m = torch.zeros(B, T, T, dtype=torch.bool)
    for b in range(B):
        doc = 0
        docs = []
        for t in range(T):
            doc += int(t > 0 and positions[b, t] == 0)
            docs.append(doc)
        for i in range(T):
            for j in range(i + 1):
                qb, kb = int(positions[b, i]) // sp.block_size, int(positions[b, j]) // sp.block_size
                rule = qb - kb < sp.local_blocks or (kb + 1) % sp.vert_stride == 0
                m[b, i, j] = docs[i] == docs[j] and rule
    return m


def test_dense_reference_mask_is_causal_doc_and_block_rule():
    got = dense_mask(POSITIONS, 41, torch.device("cpu"), SP).mask[:, 0]
    assert torch.equal(got, reference_mask(POSITIONS, SP))


@pytest.mark.parametrize("sp", [SP, BlocksparseConfig(block_size=8, local_blocks=1, vert_stride=2, every=0)])
def test_cpu_path_equals_dense_reference_outputs_and_grads(sp):
    """Uneven T, several documents per row, GQA (4 query heads on 2 KV heads), float64."""
    B, T = POSITIONS.shape
    q, k, v = qkv(B, T, grad=True)
    ref = dense_mask(POSITIONS, T, q.device, sp)
    bsm = build_blocksparse_mask(POSITIONS, "docs", T, q.device, sp)
    assert isinstance(bsm, BlocksparseMask)
    y_ref, y = ref.attend(q, k, v), bsm.attend(q, k, v)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    grads_ref = torch.autograd.grad(y_ref, (q, k, v), g)
    grads = torch.autograd.grad(y, (q, k, v), g)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_cpu_path_one_document_per_row():
    q, k, v = qkv(2, 37)
    y = BlocksparseMask.from_positions(None, 37, q.device, SP).attend(q, k, v)
    torch.testing.assert_close(y, dense_mask(None, 37, q.device, SP).attend(q, k, v), rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_flex_mask_mod_equals_dense_reference():
    """FlexAttention runs (forward, uncompiled) on CPU in torch 2.13: the composed mask_mod
    (document-causal AND blocksparse) gives the reference's outputs."""
    B, T = POSITIONS.shape
    q, k, v = (x.float() for x in qkv(B, T))
    fm = flex_mask(POSITIONS, T, q.device, SP)
    assert isinstance(fm, FlexMask)
    ref = dense_mask(POSITIONS, T, q.device, SP).attend(q.double(), k.double(), v.double())
    torch.testing.assert_close(fm.attend(q, k, v).double(), ref, rtol=1e-5, atol=1e-5)


def test_cost_follows_active_blocks():
    """One document of T tokens: the CPU path computes active blocks x bs^2 pairs, which falls
    as a fraction of T^2 as T grows (the vertical blocks grow as T/vert_stride per query block)."""
    sp = BlocksparseConfig(block_size=16, local_blocks=2, vert_stride=4)
    fracs = []
    for T in (64, 256, 1024):
        m = BlocksparseMask.from_positions(None, T, torch.device("cpu"), sp)
        nb = T // 16
        assert m.total_blocks == nb
        assert m.pairs == sum(c * n for n, c in m.groups) * 16 * 16  # what the SDPA calls get
        assert (m.pairs, m.pairs) == (
            blocksparse_pairs(None, (1, T), block_size=16, local_blocks=2, vert_stride=4)[1],
        ) * 2
        fracs.append(m.pairs / T**2)
    assert fracs[0] > fracs[1] > fracs[2]
    assert fracs[2] < 0.2  # dense causal would be ~0.5


def test_flops_pairs_match_the_mask():
    B, T = POSITIONS.shape
    allowed_pairs, computed = blocksparse_pairs(POSITIONS.numpy(), block_size=4, local_blocks=2, vert_stride=3)
    assert allowed_pairs == int(reference_mask(POSITIONS, SP).sum())
    assert computed == BlocksparseMask.from_positions(POSITIONS, T, torch.device("cpu"), SP).pairs
    dense = attn_pairs(POSITIONS.numpy())
    # 4 layers, every=2: layers 0 and 2 blocksparse, 1 and 3 dense
    assert model_attn_pairs(POSITIONS.numpy(), None, 4, SP) == (2 * dense + 2 * allowed_pairs) / 4
    assert model_attn_pairs(POSITIONS.numpy(), None, 4, None) == dense


def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=V, dim=64, n_layers=4, n_heads=4, n_kv_heads=2, max_seq_len=128, blocksparse=SP)
    return ModelConfig(**(base | kw))


def test_model_layers_alternate_and_impls_agree():
    cfg = tiny()
    assert [cfg.is_sparse(i) for i in range(4)] == [True, False, True, False]
    torch.manual_seed(0)
    a = Transformer(cfg).double()
    ref = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"attn_impl": "dense"})).double()
    ref.load_state_dict(a.state_dict())
    dense_only = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"blocksparse": None})).double()
    dense_only.load_state_dict(a.state_dict())
    idx = torch.randint(0, V, POSITIONS.shape)
    out = a(idx, POSITIONS)[0]
    torch.testing.assert_close(out, ref(idx, POSITIONS)[0], rtol=1e-10, atol=1e-10)
    assert not torch.allclose(out, dense_only(idx, POSITIONS)[0])  # the sparse layers do change the logits


def test_config_absent_is_byte_identical_and_round_trips():
    plain = ModelConfig(vocab_size=V, dim=64, n_layers=2, n_heads=4, n_kv_heads=2)
    assert "blocksparse" not in plain.to_dict()
    sec = ModelSection(dim=64, n_layers=2, n_heads=4, n_kv_heads=2)
    assert "blocksparse" not in sec.model_dump() and "blocksparse" not in sec.model_dump(mode="json")
    yaml = {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "blocksparse": {"block_size": 64, "every": 2}}
    sec = ModelSection.model_validate(yaml)
    m = sec.model_dump() | {"vocab_size": V}
    cfg = ModelConfig.from_dict(m)
    assert cfg.blocksparse == BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        ModelSection.model_validate(yaml | {"blocksparse": {"every": 1}})


def test_generate_with_sparse_cache_equals_no_cache():
    """Prompt of 13 tokens (a partial block), 40 new tokens: past several vertical strides, so
    the ring overwrites blocks; greedy tokens equal the no-cache forward pass."""
    cfg = tiny(max_seq_len=64)
    torch.manual_seed(0)
    model = Transformer(cfg).double()
    prompt = torch.randint(0, V, (2, 13))
    cached = generate(model, prompt, 40, temperature=0.0)
    plain = generate(model, prompt, 40, temperature=0.0, use_cache=False)
    assert torch.equal(cached, plain)
    cache = model.new_cache(2, 53)
    assert isinstance(cache, BlocksparseKVCache) and cache.slots < 53


def test_cache_chunks_after_prefill_equal_full_forward():
    cfg = tiny(max_seq_len=64)
    torch.manual_seed(1)
    model = Transformer(cfg).double().eval()
    idx = torch.randint(0, V, (1, 50))
    full = model(idx)[0]
    cache = model.new_cache(1, 64)
    with torch.no_grad():
        a = model(idx[:, :21], cache=cache)[0]
        b = model(idx[:, 21:30], cache=cache)[0]  # a chunk after a prefix: token by token inside
        c = torch.cat([model(idx[:, t : t + 1], cache=cache)[0] for t in range(30, 50)], 1)
    torch.testing.assert_close(torch.cat([a, b, c], 1), full, rtol=1e-10, atol=1e-10)


def test_dense_cache_refused_for_sparse_layers():
    cfg = tiny()
    model = Transformer(cfg)
    cache = KVCache(4, 1, 2, 16, cfg.head_dim)
    with pytest.raises(NotImplementedError, match="blocksparse"):
        model(torch.zeros(1, 4, dtype=torch.long), cache=cache)


def test_kv_bytes_saved():
    sp = BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2)
    # at 4096 tokens: 64 blocks; the next query (block 64) reads blocks 61-63 and the 8 vertical
    # ones (7, 15, ..., 63; 63 is both)
    assert kv_tokens_needed(4096, sp) == (3 + 8 - 1) * 64
    assert cache_slots(4096, sp) == (4 + 8) * 64  # static: a 4-block ring + 8 vertical blocks
    cfg = ModelConfig(vocab_size=V, dim=256, n_layers=4, n_heads=4, n_kv_heads=2, blocksparse=sp)
    dense, sparse = kv_bytes(cfg, batch=1, length=4096)
    assert sparse == dense // 2 + dense // 2 * 10 * 64 // 4096
    # the allocated cache shrinks as the static rule says
    small = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"max_seq_len": 4096})).new_cache(1, 4096)
    full = KVCache(4, 1, 2, 4096, cfg.head_dim)
    assert small.nbytes == full.nbytes // 2 + full.nbytes // 2 * 12 * 64 // 4096


def test_allowed_is_what_the_cache_masks_with():
    p = torch.arange(40)
    m = allowed(p[:, None], p[None, :], SP)  # (40, 40)
    assert torch.equal(m, reference_mask(p[None], SP)[0])


def test_export_refuses_blocksparse(tmp_path):
    model = Transformer(tiny())
    with pytest.raises(ValueError, match="blocksparse"):
        export_hf(model, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_numpy_positions_accepted():
    assert blocksparse_pairs(np.arange(8)[None], block_size=4, local_blocks=1, vert_stride=100) == (2 * 10, 2 * 16)


# --------------------------------------------------------------------------- head_sliding
# KV head h reads the vertical blocks shifted by h: (kb + 1 + h) % vert_stride == 0. 6 query heads
# on 3 KV heads with vert_stride 3: the three shifts cover every residue; 8 on 4: KV heads 0
# and 3 share a shift (one CPU layout for two KV heads that are not adjacent).

SLIDE = BlocksparseConfig(block_size=4, local_blocks=2, vert_stride=3, every=2, head_sliding=True)
HEADS = [(6, 3), (8, 4), (4, 2)]  # (H, KV): all residues, a shared shift, fewer KV heads than vert_stride


def head_reference(positions: torch.Tensor, sp: BlocksparseConfig, kv_heads: int) -> torch.Tensor:
    """(B, KV, T, T) reference_mask per KV head, the shifted vertical test written out by hand."""
    B, T = positions.shape
    same = reference_mask(positions, BlocksparseConfig(1, T + 1, 1, 0))  # causal + same document only
    m = torch.zeros(B, kv_heads, T, T, dtype=torch.bool)
    for b in range(B):
        for h in range(kv_heads):
            for i in range(T):
                for j in range(i + 1):
                    qb, kb = int(positions[b, i]) // sp.block_size, int(positions[b, j]) // sp.block_size
                    rule = qb - kb < sp.local_blocks or (kb + 1 + h) % sp.vert_stride == 0
                    m[b, h, i, j] = bool(same[b, i, j]) and rule
    return m


def test_head_sliding_dense_mask_is_each_kv_heads_shifted_rule():
    B, T = POSITIONS.shape
    got = dense_mask(POSITIONS, T, torch.device("cpu"), SLIDE, n_kv_heads=4).mask  # (B, 4, T, T)
    ref = head_reference(POSITIONS, SLIDE, 4)
    assert torch.equal(got, ref)
    assert not torch.equal(ref[:, 0], ref[:, 1]) and torch.equal(ref[:, 0], ref[:, 3])  # shift 3 = shift 0
    assert torch.equal(ref[:, 0], reference_mask(POSITIONS, SP))  # KV head 0: the unshifted pattern
    p = torch.arange(40)
    for h in range(4):  # what the caches mask with
        assert torch.equal(allowed(p[:, None], p[None, :], SLIDE, h), head_reference(p[None], SLIDE, 4)[0, h])
        assert torch.equal(allowed(p[:, None], p[None, :], SP, h), reference_mask(p[None], SP)[0])  # off: no shift


def attention_probs(mask, B: int, T: int, H: int, KV: int) -> torch.Tensor:
    """(B, T, H, T) the attention probabilities a mask's attend computes: v = one-hot per key
    (hd = T), so each output row IS its probability row. Nonzero exactly where a token attends."""
    g = torch.Generator().manual_seed(0)
    q = torch.randn(B, T, H, T, dtype=torch.float64, generator=g)
    k = torch.randn(B, T, KV, T, dtype=torch.float64, generator=g)
    v = torch.eye(T, dtype=torch.float64)[None, :, None].expand(B, T, KV, T).contiguous()
    return mask.attend(q, k, v)


@pytest.mark.parametrize("impl", ["docs", "dense"])
@pytest.mark.parametrize("heads", HEADS)
def test_head_sliding_no_token_attends_outside_its_heads_pattern(impl, heads):
    """Every query head attends exactly its KV head's pattern: never across a document, never
    a block outside its own local window + shifted vertical blocks."""
    H, KV = heads
    B, T = POSITIONS.shape
    mask = build_blocksparse_mask(POSITIONS, impl, T, torch.device("cpu"), SLIDE, H, KV)
    probs = attention_probs(mask, B, T, H, KV)  # (B, T, H, T)
    ref = head_reference(POSITIONS, SLIDE, KV)  # (B, KV, T, T)
    for hq in range(H):
        assert torch.equal(probs[:, :, hq] > 0, ref[:, hq // (H // KV)]), hq
    torch.testing.assert_close(probs.sum(-1), torch.ones(B, T, H, dtype=torch.float64))


def test_head_sliding_union_over_heads_covers_every_block_in_reach():
    """With n_kv_heads >= vert_stride the heads together read every causal same-document
    (query, key) pair, at block and token level; with fewer, only n_kv_heads shifts' worth."""
    B, T = POSITIONS.shape
    doc_causal = reference_mask(POSITIONS, BlocksparseConfig(1, T + 1, 1, 0))  # (B, T, T) no block rule
    for KV in (3, 4):
        union = dense_mask(POSITIONS, T, torch.device("cpu"), SLIDE, n_kv_heads=KV).mask.any(1)
        assert torch.equal(union, doc_causal)
        qb, kb = torch.arange(30)[:, None], torch.arange(30)[None, :]
        cover = torch.stack([block_active(qb, kb, SLIDE, h) for h in range(KV)]).any(0)
        assert torch.equal(cover, kb <= qb)
    two = dense_mask(POSITIONS, T, torch.device("cpu"), SLIDE, n_kv_heads=2).mask.any(1)
    assert (two <= doc_causal).all() and not torch.equal(two, doc_causal)
    one = dense_mask(POSITIONS, T, torch.device("cpu"), SP).mask[:, 0]
    assert (one <= two).all() and not torch.equal(one, two)  # sliding still reads more than one pattern


@pytest.mark.parametrize("heads", HEADS)
@pytest.mark.parametrize("positions", [POSITIONS, None])
def test_head_sliding_cpu_path_equals_dense_reference_outputs_and_grads(heads, positions):
    """float64, uneven T, several documents per row (or one per row: the batch folded into the heads)."""
    H, KV = heads
    B, T = POSITIONS.shape
    q, k, v = qkv(B, T, H=H, KV=KV, grad=True)
    ref = build_blocksparse_mask(positions, "dense", T, q.device, SLIDE, H, KV)
    bsm = build_blocksparse_mask(positions, "docs", T, q.device, SLIDE, H, KV)
    assert isinstance(bsm, SlidingBlocksparseMask) and len(bsm.layouts) == min(KV, 3)
    y_ref, y = ref.attend(q, k, v), bsm.attend(q, k, v)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    for a, b in zip(torch.autograd.grad(y, (q, k, v), g), torch.autograd.grad(y_ref, (q, k, v), g)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # a shared-pattern model's mask differs: the shift changes the output
    plain = build_blocksparse_mask(positions, "dense", T, q.device, SP)
    assert not torch.allclose(plain.attend(q, k, v), y_ref)


def test_head_sliding_needs_the_head_counts():
    with pytest.raises(ValueError, match="head_sliding"):
        build_blocksparse_mask(None, "docs", 16, torch.device("cpu"), SLIDE)
    m = build_blocksparse_mask(None, "docs", 16, torch.device("cpu"), SLIDE, 4, 2)
    q, k, v = qkv(1, 16, H=4, KV=1)
    with pytest.raises(ValueError, match="heads"):
        m.attend(q, k, v)


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
@pytest.mark.parametrize("heads", [(6, 3), (8, 4)])
def test_head_sliding_flex_mask_mod_equals_dense_reference(heads):
    """The mask_mod's h is the query head; its KV head (h // group) sets the shift. Forward on
    CPU, uncompiled (skipped where this torch cannot run FlexAttention on CPU)."""
    H, KV = heads
    B, T = POSITIONS.shape
    q, k, v = (x.float() for x in qkv(B, T, H=H, KV=KV))
    try:
        fm = flex_mask(POSITIONS, T, q.device, SLIDE, n_heads=H, n_kv_heads=KV)
        y = fm.attend(q, k, v)
    except (RuntimeError, NotImplementedError) as e:  # pragma: no cover - depends on the torch build
        pytest.skip(f"FlexAttention does not run on CPU here: {e}")
    assert fm.block_mask.shape[1] == H  # one pattern per query head
    ref = dense_mask(POSITIONS, T, q.device, SLIDE, n_kv_heads=KV).attend(q.double(), k.double(), v.double())
    torch.testing.assert_close(y.double(), ref, rtol=1e-5, atol=1e-5)


def test_flex_tile_is_the_block_size_when_torch_allows():
    """BLOCK_SIZE = block_size when it is a multiple of 128 (every flex kernel tile divides it);
    otherwise torch's default (128)."""
    assert flex_block_size(BlocksparseConfig(block_size=256)) == {"BLOCK_SIZE": 256}
    assert flex_block_size(BlocksparseConfig(block_size=128)) == {"BLOCK_SIZE": 128}
    for bs in (4, 64, 96, 192):
        assert flex_block_size(BlocksparseConfig(block_size=bs)) == {}
    sp = BlocksparseConfig(block_size=128, local_blocks=1, vert_stride=2, head_sliding=True)
    fm = flex_mask(None, 512, torch.device("cpu"), sp, n_heads=2, n_kv_heads=2)
    assert fm.block_mask.BLOCK_SIZE == (128, 128)
    # KV head 0: vertical blocks 1, 3; KV head 1: 0, 2 (plus the diagonal): query block 3 reads
    kv = fm.block_mask.to_dense()[0, :, 3]  # (H, key blocks)
    assert kv.tolist() == [[0, 1, 0, 1], [1, 0, 1, 1]]


def test_head_sliding_cost_follows_each_heads_active_blocks():
    """The CPU path computes, per KV head, its own active blocks x bs^2 (no union, no dense)."""
    sp = BlocksparseConfig(block_size=16, local_blocks=2, vert_stride=4, head_sliding=True)
    T = 512
    m = SlidingBlocksparseMask.from_positions(None, T, torch.device("cpu"), sp, 8, 4)
    nb = T // 16
    qb, kb = torch.arange(nb)[:, None], torch.arange(nb)[None, :]
    want = [int(block_active(qb, kb, sp, h).sum()) for h in range(4)]
    assert m.head_active_blocks == want and len(set(want)) > 1  # the shift changes the count
    for layout, kvh in zip(m.layouts, m.kv_heads):
        assert sum(c * n for n, c in layout.groups) == layout.active_blocks == want[int(kvh[0])]
    assert m.pairs == sum(want) / 4 * 16 * 16
    shared = BlocksparseMask.from_positions(None, T, torch.device("cpu"), BlocksparseConfig(16, 2, 4))
    assert abs(m.active_blocks - shared.active_blocks) <= nb  # the same sparsity, give or take a block per row
    assert m.active_blocks / (nb * (nb + 1) / 2) < 0.35


def sliding_model(dtype=torch.float32, **kw) -> Transformer:
    cfg = ModelConfig(
        vocab_size=V, dim=96, n_layers=3, n_heads=6, n_kv_heads=3, max_seq_len=64, blocksparse=SLIDE, **kw
    )
    torch.manual_seed(0)
    return Transformer(cfg).to(dtype)


def test_head_sliding_generate_with_sparse_cache_equals_no_cache():
    """float32 as the brief asks: prompt of 13 (a partial block), 40 new tokens, past several
    vertical strides (the ring overwrites blocks, each KV head keeps its own vertical blocks)."""
    model = sliding_model()
    prompt = torch.randint(0, V, (2, 13), generator=torch.Generator().manual_seed(0))
    cached = generate(model, prompt, 40, temperature=0.0)
    plain = generate(model, prompt, 40, temperature=0.0, use_cache=False)
    assert torch.equal(cached, plain)
    shared = Transformer(ModelConfig.from_dict(model.cfg.to_dict() | {"blocksparse": SP})).to(torch.float32)
    shared.load_state_dict(model.state_dict())
    assert not torch.equal(generate(shared, prompt, 40, temperature=0.0, use_cache=False), plain)


def test_head_sliding_cache_chunks_after_prefill_equal_full_forward():
    model = sliding_model(torch.float64).eval()
    idx = torch.randint(0, V, (1, 50), generator=torch.Generator().manual_seed(1))
    full = model(idx)[0]
    cache = model.new_cache(1, 64)
    assert isinstance(cache, BlocksparseKVCache) and cache.ring
    with torch.no_grad():
        a = model(idx[:, :21], cache=cache)[0]
        b = model(idx[:, 21:30], cache=cache)[0]
        c = torch.cat([model(idx[:, t : t + 1], cache=cache)[0] for t in range(30, 50)], 1)
    torch.testing.assert_close(torch.cat([a, b, c], 1), full, rtol=1e-10, atol=1e-10)


def test_head_sliding_batch_decoder_equals_no_cache():
    """trainer.generate's batched static decoder: the per-query-head mask of each KV head's pattern."""
    model = sliding_model()
    ps = [[int(t) for t in torch.randint(0, V, (n,), generator=torch.Generator().manual_seed(n))] for n in (13, 1, 6)]
    ref = [generate(model, torch.tensor([p]), 30, temperature=0, use_cache=False)[0].tolist() for p in ps]
    assert generate_batch(model, ps, 30, temperature=0) == ref


def test_head_sliding_kv_bytes_match_the_pattern():
    """Each KV head keeps its own vertical blocks: kv_tokens_needed per head, kv_bytes their sum,
    and what a cache still holds readable after generation is exactly that."""
    sp = BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2, head_sliding=True)
    # 4096 tokens = 64 blocks, next query block 64: window 61-63; KV head h's vertical blocks are
    # j with (j + 1 + h) % 8 == 0: 8 of them for each h, one inside the window for h in {0, 1, 2}
    assert [kv_tokens_needed(4096, sp, h) for h in range(4)] == [(3 + 8 - 1) * 64] * 3 + [(3 + 8) * 64]
    assert cache_slots(4096, sp, 4) == (4 + 8) * 64  # every shift has 8 vertical blocks in 64 blocks
    # 4097 tokens = 65 blocks: block 64 is vertical for shift 7 only ((65 + 7) // 8 = 9 of them)
    assert cache_slots(4097, sp, 4) == cache_slots(4097, BlocksparseConfig(64, 4, 8, 2), 4) == (4 + 8) * 64
    assert cache_slots(4097, sp, 8) == (4 + 9) * 64
    cfg = ModelConfig(vocab_size=V, dim=256, n_layers=4, n_heads=4, n_kv_heads=4, blocksparse=sp)
    dense, sparse = kv_bytes(cfg, batch=1, length=4096)
    per_head_layer = dense // 4 // 4  # one KV head, one layer
    assert sparse == 2 * 4 * per_head_layer + 2 * per_head_layer * (3 * 10 + 11) * 64 // 4096
    off = ModelConfig.from_dict(cfg.to_dict() | {"blocksparse": BlocksparseConfig(64, 4, 8, 2)})
    assert kv_bytes(off, 1, 4096)[1] == 2 * 4 * per_head_layer + 2 * 4 * per_head_layer * 10 * 64 // 4096
    # a real cache: after prefill + decode, the slots each KV head can still read = its need
    model = sliding_model()
    cache = model.new_cache(1, 64)
    with torch.no_grad():
        model(torch.randint(0, V, (1, 21)), cache=cache)
        for _ in range(26):
            model(torch.randint(0, V, (1, 1)), cache=cache)
    L = cache.length
    assert L == 47
    for layer in (0, 2):  # the sparse ones
        held = cache.readable(layer).sum(1).tolist()  # per KV head
        assert held == [kv_tokens_needed(L, SLIDE, h) for h in range(3)]
        assert len(set(held)) > 1
    tok_head = 2 * model.cfg.head_dim * 4  # K + V bytes of one token in one KV head, float32
    want = kv_bytes(model.cfg, 1, L, dtype_bytes=4)[1]
    assert want == tok_head * (L * 3 + 2 * sum(kv_tokens_needed(L, SLIDE, h) for h in range(3)))
    assert cache.slots == cache_slots(64, SLIDE, 3) < 64
    assert cache.nbytes == tok_head * (3 * 64 + 2 * 3 * cache.slots)  # allocated: dense layer 1 + 2 sparse


def test_head_sliding_config_round_trips_and_defaults_unchanged(tmp_path):
    assert "head_sliding" not in SP.to_dict()  # off: meta.json / config hash as before the option
    assert SLIDE.to_dict()["head_sliding"] is True
    cfg = tiny(blocksparse=SLIDE)
    assert cfg.to_dict()["blocksparse"]["head_sliding"] is True
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert "head_sliding" not in tiny().to_dict()["blocksparse"]
    old_meta = tiny().to_dict() | {"blocksparse": {"block_size": 4, "local_blocks": 2, "vert_stride": 3, "every": 2}}
    assert ModelConfig.from_dict(old_meta).blocksparse == SP  # a checkpoint from before the option
    sec = ModelSection.model_validate(
        {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "blocksparse": {"head_sliding": True}}
    )
    assert sec.model_dump()["blocksparse"]["head_sliding"] is True
    assert ModelConfig.from_dict(sec.model_dump() | {"vocab_size": V}).blocksparse.head_sliding
    plain = ModelSection.model_validate({"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "blocksparse": {}})
    assert "head_sliding" not in plain.model_dump()["blocksparse"]
    assert "head_sliding" not in plain.model_dump(mode="json")["blocksparse"]
    path = tmp_path / "train.yaml"
    path.write_text(
        "model: {dim: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2,\n"
        "        blocksparse: {block_size: 16, vert_stride: 4, head_sliding: true}}\n"
    )
    loaded = load_train_config(path)
    assert loaded.model.blocksparse.head_sliding and loaded.model.blocksparse.block_size == 16
    with pytest.raises(TrainConfigError):
        path.write_text("model: {dim: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, blocksparse: {head_sliding: 3}}\n")
        load_train_config(path)


def test_flops_pairs_with_head_sliding_average_the_kv_heads():
    """MFU counts each KV head's own pattern: the mean of the heads' allowed pairs, equal to the
    per-head reference masks."""
    KV = 3
    ref = head_reference(POSITIONS, SLIDE, KV)  # (B, KV, T, T)
    per_head = [
        blocksparse_pairs(POSITIONS.numpy(), block_size=4, local_blocks=2, vert_stride=3, shift=SLIDE.shift(h))[0]
        for h in range(KV)
    ]
    assert per_head == [int(ref[:, h].sum()) for h in range(KV)]
    assert len(set(per_head)) > 1  # the shifts do change the count here
    dense = attn_pairs(POSITIONS.numpy())
    got = model_attn_pairs(POSITIONS.numpy(), None, 4, SLIDE, n_kv_heads=KV)
    assert got == pytest.approx((2 * dense + 2 * sum(per_head) / KV) / 4)
