"""Training data: a run's phase, pre-tokenized once into memory-mapped token files, then
packed into fixed-length rows by a deterministic, checkpointable, rank-sharded loader.

Why pre-tokenize (measured, see the README): a training step then costs a few numpy
slices of a memmap instead of Parquet decoding + BPE on the step's critical path, a
resumed run can seek to its exact position, and every rank reads the same files.

Token store, one directory per phase (RUN_DIR/tokens/<tokenizer sha[:12]>/phase=P/):
  index.json               cells (domain, tier, weight, counts), tokenizer sha256,
                           lineage, and the cache key (tokenizer + source file hashes)
  <domain>.<tier>.bin      the cell's document tokens back to back (uint16, or uint32
                           for vocabularies over 65,536), without bos/eos
  <domain>.<tier>.npz      offsets (n+1,) int64, repeat (n,) int32, key (n,) uint64
                           (hash of the document id: decides the eval hold-out)

Packing (documented choices):
  * every document is <|bos|> doc <|eos|>; rows are consecutive windows of the document
    stream, each row T inputs + the next token as the last target (no padding, no
    token dropped);
  * `positions` restart at 0 at every document start AND at the start of every row: a
    document cut by a row boundary continues in the next row from position 0, since
    the model sees none of its earlier tokens there (positions also stay < T, within
    the RoPE table, whatever the document length);
  * targets are -100 where the next token belongs to another document (<|eos|> ->
    next <|bos|>) and on padding (eval rows only); <|eos|> itself is a target.
Mixing: a phase's cells are interleaved by token share: the next document comes from
the cell furthest behind its weight (emitted tokens / weight, lowest wins; ties by cell
order), so every prefix of the stream matches the mix, not just its expectation. In a
cell, a document is used `repeat` times per pass, in a seeded permutation per pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from edumix.core.run_dir import TOKENS_DIR, mix_manifest_path, read_manifest, read_mix_manifest, shard_entries
from edumix.trainer.tokenizer import TextTokenizer

FORMAT = 1
PHASE2_FALLBACK_TIERS = ("A",)
IGNORE = -100


class DataError(ValueError):
    pass


# --- what a phase reads -------------------------------------------------------------


@dataclass
class CellSource:
    domain: str
    tier: str
    weight: float | None  # None in the fallback: the token share, known after tokenizing
    files: list[Path]


@dataclass
class PhaseSource:
    run_dir: Path
    phase: int
    from_mix: bool
    cells: list[CellSource]  # from_mix; the fallback groups rows while reading
    files: list[dict]  # [{path, sha256}] relative to run_dir
    tiers: tuple[str, ...] | None  # None: every row, whatever its tier
    lineage: dict[str, Any] = field(default_factory=dict)


def phase_source(run_dir: str | Path, phase: int) -> PhaseSource:
    """The run's mix (its mix manifest's cells and files, any schema version) when present,
    else the fallback over shards/ (see mix_layout.md)."""
    run = Path(run_dir)
    manifest = read_manifest(run)
    mix = read_mix_manifest(run, manifest)
    if mix is not None:
        phases = mix.get("phases", {})
        if str(phase) not in phases:
            where = run / mix_manifest_path(run, manifest)
            raise DataError(f"{where}: no phase {phase} (phases: {', '.join(sorted(phases)) or 'none'})")
        spec = phases[str(phase)]
        cells, files = [], []
        for c in spec["cells"]:
            cells.append(CellSource(c["domain"], c["tier"], float(c["weight"]), [run / f["path"] for f in c["files"]]))
            files += [{"path": f["path"], "sha256": f["sha256"]} for f in c["files"]]
        lineage = {k: mix.get(k) for k in ("recipe_hash", "config_hash", "input_fingerprint", "token_count")}
        source = PhaseSource(run, phase, True, cells, files, tuple(spec.get("tiers", ())), lineage)
    else:
        if phase not in (1, 2):
            raise DataError(f"{run} has no mix manifest: only phases 1 (all tiers) and 2 (tier A) exist")
        files = [{"path": s["path"], "sha256": s["sha256"]} for s in shard_entries(run, manifest)]
        tiers = None if phase == 1 else PHASE2_FALLBACK_TIERS
        lineage = {k: manifest.get(k) for k in ("config_hash", "input_fingerprint")}
        source = PhaseSource(run, phase, False, [], files, tiers, lineage)
    missing = [f["path"] for f in source.files if not (run / f["path"]).is_file()]
    if missing:
        raise FileNotFoundError(f"{run}: missing data file(s) {', '.join(missing[:3])}")
    return source


def _safe_name(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s)


def _cell_name(domain: str, tier: str) -> str:
    return f"{_safe_name(domain)}.{_safe_name(tier)}"


def doc_key(doc_id: str) -> int:
    """Stable 64-bit hash of a document id: the same document is held out in every phase."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "little")


# --- pre-tokenizing -----------------------------------------------------------------


class _CellWriter:
    def __init__(self, directory: Path, domain: str, tier: str, dtype: np.dtype):
        self.domain, self.tier, self.dtype = domain, tier, dtype
        self.name = _cell_name(domain, tier)
        self.fh = open(directory / f"{self.name}.bin", "wb")
        self.lengths: list[int] = []
        self.repeat: list[int] = []
        self.keys: list[int] = []

    def add(self, ids: list[int], repeat: int, key: int) -> None:
        np.asarray(ids, dtype=self.dtype).tofile(self.fh)
        self.lengths.append(len(ids))
        self.repeat.append(repeat)
        self.keys.append(key)

    def close(self, directory: Path) -> dict:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        repeat = np.asarray(self.repeat, dtype=np.int32)
        np.savez(directory / f"{self.name}.npz", offsets=offsets, repeat=repeat, key=np.asarray(self.keys, np.uint64))
        doc_tokens = np.diff(offsets) + 2  # + bos, eos
        return {
            "domain": self.domain,
            "tier": self.tier,
            "name": self.name,
            "documents": len(self.lengths),
            "tokens": int(offsets[-1]),
            "stream_tokens": int((doc_tokens * repeat).sum()),
        }


def cache_key(source: PhaseSource, tokenizer_sha256: str) -> str:
    blob = json.dumps(
        {
            "format": FORMAT,
            "tokenizer": tokenizer_sha256,
            "phase": source.phase,
            "mix": source.from_mix,
            "tiers": source.tiers,
            "files": source.files,
            "weights": [[c.domain, c.tier, c.weight] for c in source.cells],
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_tokens_dir(run_dir: str | Path, tokenizer_sha256: str) -> Path:
    return Path(run_dir) / TOKENS_DIR / tokenizer_sha256[:12]


def tokenize_phase(
    source: PhaseSource, tokenizer: TextTokenizer, out_root: str | Path, progress: bool = True, batch_rows: int = 1024
) -> Path:
    """Write the phase's token store under out_root/phase=P (atomically: temp dir + rename)."""

    from edumix.core.progress import progress_bar

    final = Path(out_root) / f"phase={source.phase}"
    tmp = Path(out_root) / f".phase={source.phase}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    dtype = np.dtype(np.uint16 if tokenizer.vocab_size <= 65536 else np.uint32)
    writers: dict[tuple[str, str], _CellWriter] = {}
    for cell in source.cells:
        writers[(cell.domain, cell.tier)] = _CellWriter(tmp, cell.domain, cell.tier, dtype)
    total_rows = sum(pq.ParquetFile(source.run_dir / f["path"]).metadata.num_rows for f in source.files)
    bar = progress_bar(
        total=total_rows, unit="doc", desc=f"tokenize phase {source.phase}", enabled=None if progress else False
    )
    n_tokens = 0
    jobs = (
        [(cell, path) for cell in source.cells for path in cell.files]
        if source.from_mix
        else [(None, source.run_dir / f["path"]) for f in source.files]
    )
    for cell, path in jobs:
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        columns = ["id", "text"] + (["repeat"] if "repeat" in names else [])
        if cell is None:
            columns += ["domain", "edu_tier"]
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            cols = batch.to_pydict()
            ids = tokenizer.encode_batch(cols["text"])
            for i, toks in enumerate(ids):
                if cell is None:
                    tier = cols["edu_tier"][i] or "none"
                    if source.tiers is not None and tier not in source.tiers:
                        continue
                    key = (cols["domain"][i] or "unknown", tier)
                    if key not in writers:
                        writers[key] = _CellWriter(tmp, key[0], key[1], dtype)
                    writer = writers[key]
                else:
                    writer = writers[(cell.domain, cell.tier)]
                repeat = int(cols["repeat"][i]) if "repeat" in cols and cols["repeat"][i] else 1
                writer.add(toks, repeat, doc_key(cols["id"][i]))
                n_tokens += len(toks)
            bar.update(batch.num_rows)
            bar.set_postfix(tokens=f"{n_tokens:,}")
    bar.close()
    cells = [writers[k].close(tmp) for k in sorted(writers)]
    cells = [c for c in cells if c["documents"]]
    if not cells:
        shutil.rmtree(tmp)
        tiers = ", ".join(source.tiers) if source.tiers else "all"
        raise DataError(f"{source.run_dir}: phase {source.phase} has no documents (tiers: {tiers})")
    given = {(c.domain, c.tier): c.weight for c in source.cells}
    stream_total = sum(c["stream_tokens"] for c in cells)
    for c in cells:
        share = c["stream_tokens"] / stream_total
        c["weight"] = given.get((c["domain"], c["tier"])) if source.from_mix else share
        c["stream_share"] = share
    index = {
        "format": FORMAT,
        "key": cache_key(source, tokenizer.sha256),
        "phase": source.phase,
        "from_mix": source.from_mix,
        "tiers": source.tiers,
        "lineage": source.lineage,
        "tokenizer_sha256": tokenizer.sha256,
        "vocab_size": tokenizer.vocab_size,
        "dtype": dtype.name,
        "bos_id": tokenizer.bos_id,
        "eos_id": tokenizer.eos_id,
        "pad_id": tokenizer.pad_id,
        "documents": sum(c["documents"] for c in cells),
        "tokens": sum(c["tokens"] for c in cells),
        "files": source.files,
        "cells": cells,
    }
    (tmp / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    if final.exists():
        old = final.with_name(final.name + f".old-{os.getpid()}")
        final.rename(old)
        shutil.rmtree(old)
    tmp.rename(final)
    return final


def ensure_tokenized(
    run_dir: str | Path,
    phase: int,
    tokenizer: TextTokenizer,
    tokens_dir: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """The phase's token store, written only when missing or stale (data or tokenizer changed)."""
    source = phase_source(run_dir, phase)
    root = Path(tokens_dir) if tokens_dir else default_tokens_dir(run_dir, tokenizer.sha256)
    index = root / f"phase={phase}" / "index.json"
    if index.is_file():
        try:
            if json.loads(index.read_text()).get("key") == cache_key(source, tokenizer.sha256):
                return index.parent
        except ValueError:
            pass
    return tokenize_phase(source, tokenizer, root, progress=progress)


# --- reading the store --------------------------------------------------------------


@dataclass
class Cell:
    domain: str
    tier: str
    weight: float
    tokens: np.ndarray  # memmap, all documents back to back
    offsets: np.ndarray  # (n+1,)
    repeat: np.ndarray  # (n,)
    key: np.ndarray  # (n,) uint64

    @property
    def documents(self) -> int:
        return len(self.repeat)


class TokenStore:
    def __init__(self, phase_dir: str | Path):
        self.dir = Path(phase_dir)
        index_path = self.dir / "index.json"
        if not index_path.is_file():
            raise FileNotFoundError(f"no token store at {self.dir} (run `edumix tokenize`)")
        self.index = json.loads(index_path.read_text())
        if self.index.get("format") != FORMAT:
            raise DataError(f"{index_path}: format {self.index.get('format')}, expected {FORMAT}: re-run tokenize")
        self.bos_id, self.eos_id, self.pad_id = self.index["bos_id"], self.index["eos_id"], self.index["pad_id"]
        self.cells: list[Cell] = []
        for c in self.index["cells"]:
            arrays = np.load(self.dir / f"{c['name']}.npz")
            tokens = np.memmap(self.dir / f"{c['name']}.bin", dtype=self.index["dtype"], mode="r")
            self.cells.append(
                Cell(
                    c["domain"],
                    c["tier"],
                    float(c["weight"]),
                    tokens,
                    arrays["offsets"],
                    arrays["repeat"],
                    arrays["key"],
                )
            )

    @property
    def key(self) -> str:
        return self.index["key"]

    @property
    def domains(self) -> list[str]:
        return sorted({c.domain for c in self.cells})

    def document(self, cell: int, doc: int) -> np.ndarray:
        """<|bos|> tokens <|eos|> as int64."""
        c = self.cells[cell]
        out = np.empty(int(c.offsets[doc + 1] - c.offsets[doc]) + 2, dtype=np.int64)
        out[0], out[-1] = self.bos_id, self.eos_id
        out[1:-1] = c.tokens[c.offsets[doc] : c.offsets[doc + 1]]
        return out


def heldout_masks(store: TokenStore, fraction: float) -> list[np.ndarray]:
    """Per cell, which documents are eval-only: hash(id) < fraction, and at least one per
    domain when the domain has two or more documents (its lowest hash)."""
    threshold = np.uint64(min(int(fraction * 2**64), 2**64 - 1))
    masks = [c.key < threshold if fraction > 0 else np.zeros(c.documents, bool) for c in store.cells]
    if fraction > 0:
        by_domain: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(store.cells):
            by_domain[c.domain].append(i)
        for cells in by_domain.values():
            if any(masks[i].any() for i in cells) or sum(store.cells[i].documents for i in cells) < 2:
                continue
            best = min((int(store.cells[i].key.min()), i) for i in cells if store.cells[i].documents)
            cell = best[1]
            masks[cell][int(np.argmin(store.cells[cell].key))] = True
    return masks


def _window_to_row(tok: np.ndarray, pos: np.ndarray, ser: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A window of T+1 stream tokens -> (inputs, positions, targets), each (T,)."""
    inputs = tok[:-1]
    targets = np.where(ser[1:] == ser[:-1], tok[1:], IGNORE)
    positions = pos[:-1].copy()
    first = ser[:-1] == ser[0]
    positions[first] -= positions[0]  # the row's first document restarts at 0
    return inputs, positions, targets


class PackedLoader:
    """The training stream of one phase: same seed + same data -> same rows, on any number
    of ranks. `next_batch(b)` advances the stream by world_size * b rows and returns this
    rank's b of them (rank r: rows r*b .. r*b+b-1 of the group)."""

    def __init__(
        self,
        store: TokenStore,
        seq_len: int,
        seed: int = 0,
        heldout: Sequence[np.ndarray] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.store, self.seq_len, self.seed, self.rank, self.world_size = store, seq_len, seed, rank, world_size
        self._cells: list[int] = []  # store cell index per loader cell
        self._uses: list[np.ndarray] = []  # document indices, each repeated `repeat` times
        for i, c in enumerate(store.cells):
            train = np.flatnonzero(~heldout[i]) if heldout is not None else np.arange(c.documents)
            if len(train) and c.weight > 0:
                self._cells.append(i)
                self._uses.append(np.repeat(train, c.repeat[train]))
        if not self._cells:
            raise DataError(f"{store.dir}: no training documents left after the eval hold-out")
        w = np.asarray([store.cells[i].weight for i in self._cells], dtype=np.float64)
        self.weights = w / w.sum()
        self._order_cache: dict[int, tuple[int, np.ndarray]] = {}
        self._reset()

    def _reset(self) -> None:
        n = len(self._cells)
        self.epoch = [0] * n
        self.cursor = [0] * n
        self.emitted = [0] * n  # stream tokens started per cell
        self.rows = 0
        self.serial = 0  # documents started so far
        self._cur: tuple[int, int] | None = None  # (loader cell, document)
        self._off = 0
        self._doc = np.empty(0, dtype=np.int64)
        self._carry: tuple[int, int, int] | None = None  # (token, position, serial)

    def _order(self, cell: int, epoch: int) -> np.ndarray:
        cached = self._order_cache.get(cell)
        if cached is None or cached[0] != epoch:
            rng = np.random.default_rng([self.seed, self._cells[cell], epoch])
            cached = (epoch, rng.permutation(self._uses[cell]))
            self._order_cache[cell] = cached
        return cached[1]

    def _next_document(self) -> None:
        share = np.asarray(self.emitted, dtype=np.float64) / self.weights
        c = int(np.argmin(share))
        order = self._order(c, self.epoch[c])
        doc = int(order[self.cursor[c]])
        self.cursor[c] += 1
        if self.cursor[c] == len(order):
            self.epoch[c] += 1
            self.cursor[c] = 0
        self._cur, self._off = (c, doc), 0
        self._doc = self.store.document(self._cells[c], doc)
        self.emitted[c] += len(self._doc)
        self.serial += 1

    def _take(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        toks, poss, sers = [], [], []
        while n > 0:
            if self._cur is None or self._off >= len(self._doc):
                self._next_document()
            chunk = self._doc[self._off : self._off + n]
            toks.append(chunk)
            poss.append(np.arange(self._off, self._off + len(chunk), dtype=np.int64))
            sers.append(np.full(len(chunk), self.serial, dtype=np.int64))
            self._off += len(chunk)
            n -= len(chunk)
        return np.concatenate(toks), np.concatenate(poss), np.concatenate(sers)

    def _row(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._carry is None:
            t, p, s = self._take(1)
            self._carry = (int(t[0]), int(p[0]), int(s[0]))
        t, p, s = self._take(self.seq_len)
        ct, cp, cs = self._carry
        tok, pos, ser = np.concatenate([[ct], t]), np.concatenate([[cp], p]), np.concatenate([[cs], s])
        self._carry = (int(tok[-1]), int(pos[-1]), int(ser[-1]))
        self.rows += 1
        return _window_to_row(tok, pos, ser)

    def next_batch(self, rows: int) -> dict[str, np.ndarray]:
        """This rank's `rows` rows: idx, positions, targets, each (rows, T) int64, and
        group_valid: the target tokens (not -100) in the rows of ALL ranks, which every
        rank needs to weight its loss and knows without a collective."""
        out = np.empty((3, rows, self.seq_len), dtype=np.int64)
        valid = 0
        for g in range(self.world_size * rows):
            row = self._row()
            valid += int((row[2] != IGNORE).sum())
            mine = g - self.rank * rows
            if 0 <= mine < rows:
                out[0, mine], out[1, mine], out[2, mine] = row
        return {"idx": out[0], "positions": out[1], "targets": out[2], "group_valid": np.int64(valid)}

    def state_dict(self) -> dict[str, Any]:
        """Plain ints: the exact stream position (rank-independent, so a run may resume on a
        different number of processes with the same global batch)."""
        return {
            "format": FORMAT,
            "store_key": self.store.key,
            "seq_len": self.seq_len,
            "seed": self.seed,
            "cells": [self.store.cells[i].domain + "." + self.store.cells[i].tier for i in self._cells],
            "epoch": list(self.epoch),
            "cursor": list(self.cursor),
            "emitted": list(self.emitted),
            "rows": self.rows,
            "serial": self.serial,
            "cur": list(self._cur) if self._cur is not None else None,
            "off": self._off,
            "carry": list(self._carry) if self._carry is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        mine = self.state_dict()
        for k in ("format", "store_key", "seq_len", "seed", "cells"):
            if state.get(k) != mine[k]:
                raise DataError(
                    f"cannot resume the data stream: {k} was {state.get(k)!r}, now {mine[k]!r} "
                    "(the data, tokenizer, seq_len, seed or eval hold-out changed)"
                )
        self.epoch, self.cursor, self.emitted = list(state["epoch"]), list(state["cursor"]), list(state["emitted"])
        self.rows, self.serial, self._off = state["rows"], state["serial"], state["off"]
        self._cur = tuple(state["cur"]) if state["cur"] is not None else None
        self._carry = tuple(state["carry"]) if state["carry"] is not None else None
        if self._cur is not None:
            c, doc = self._cur
            self._doc = self.store.document(self._cells[c], doc)

    def domain_shares(self) -> dict[str, float]:
        """Token share per domain of the stream so far (for logs and tests)."""
        total = sum(self.emitted) or 1
        shares: dict[str, float] = defaultdict(float)
        for c, n in zip(self._cells, self.emitted):
            shares[self.store.cells[c].domain] += n / total
        return dict(shares)


def eval_rows(
    store: TokenStore, heldout: Sequence[np.ndarray], seq_len: int, max_rows: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per domain, its held-out documents packed like training rows (each document once,
    in store order), the last row padded; at most max_rows rows per domain."""
    docs: dict[str, list[np.ndarray]] = defaultdict(list)
    for i, c in enumerate(store.cells):
        for d in np.flatnonzero(heldout[i]):
            docs[c.domain].append(store.document(i, int(d)))
    out = {}
    for domain in sorted(docs):
        tok = np.concatenate(docs[domain])
        pos = np.concatenate([np.arange(len(d)) for d in docs[domain]])
        ser = np.concatenate([np.full(len(d), j) for j, d in enumerate(docs[domain])])
        n_rows = min(max_rows, -(-(len(tok) - 1) // seq_len))
        need = n_rows * seq_len + 1
        if len(tok) < need:  # pad: its own serial per token, so no target reaches into it
            pad = need - len(tok)
            tok = np.concatenate([tok, np.full(pad, store.pad_id)])
            pos = np.concatenate([pos, np.zeros(pad, np.int64)])
            ser = np.concatenate([ser, -1 - np.arange(pad)])
        rows = [
            _window_to_row(
                tok[r * seq_len : (r + 1) * seq_len + 1],
                pos[r * seq_len : (r + 1) * seq_len + 1],
                ser[r * seq_len : (r + 1) * seq_len + 1],
            )
            for r in range(n_rows)
        ]
        out[domain] = {
            k: np.stack([r[j] for r in rows]).astype(np.int64) for j, k in enumerate(("idx", "positions", "targets"))
        }
    return out
