"""One LLaVA training step in plain PyTorch: the peer of bench/train-step-tfjs.mjs, the same model,
data, loss and optimizer. Prints one JSON line: median seconds per step, peak RSS.

    python tools/bench/torch_step.py [--steps 5] [--warmup 2]

Works with Debian's python3-torch (1.13) and with PyTorch 2.x.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
args = p.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)

# The benchmark model (issue §8): ViT 2 × 256 at 224 px / 16, mlp2x_gelu, LLaMA 4 × 512, 8 heads, MSL 512, vocab 32,000.
V_D, V_L, V_H, V_F, IMG, PATCH = 256, 2, 4, 1024, 224, 16
T_D, T_L, T_H, T_F, MSL, VOCAB = 512, 4, 8, 1376, 512, 32000
B, START = 4, 35
NP = (IMG // PATCH) ** 2


class ViTBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(V_D), nn.LayerNorm(V_D)
        self.q, self.k, self.v, self.o = (nn.Linear(V_D, V_D) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(V_D, V_F), nn.Linear(V_F, V_D)

    def forward(self, x):
        h = self.ln1(x)
        b, t, _ = h.shape
        q, k, v = (f(h).view(b, t, V_H, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(V_D // V_H), -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, V_D))
        h = self.fc1(self.ln2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, V_D, PATCH, PATCH, bias=False)
        self.cls = nn.Parameter(torch.randn(V_D) * 0.02)
        self.pos = nn.Parameter(torch.randn(NP + 1, V_D) * 0.02)
        self.pre = nn.LayerNorm(V_D)
        self.blocks = nn.ModuleList(ViTBlock() for _ in range(V_L))

    def forward(self, img):
        x = self.patch(img).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.pos
        x = self.pre(x)
        for blk in self.blocks[:V_L - 1]:  # select_layer −2: the penultimate block's output
            x = blk(x)
        return x[:, 1:]


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat([-x2, x1], -1)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n3 = RMSNorm(T_D), RMSNorm(T_D)
        self.q, self.k, self.v, self.o = (nn.Linear(T_D, T_D, bias=False) for _ in range(4))
        self.up, self.gate, self.down = nn.Linear(T_D, T_F, bias=False), nn.Linear(T_D, T_F, bias=False), nn.Linear(T_F, T_D, bias=False)

    def forward(self, x, cos, sin, mask):
        h = self.n1(x)
        b, t, _ = h.shape
        q, k, v = (f(h).view(b, t, T_H, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(T_D // T_H) + mask, -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, T_D))
        h = self.n3(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llava(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision = ViT()
        self.proj = nn.Sequential(nn.Linear(V_D, T_D), nn.GELU(), nn.Linear(T_D, T_D))
        self.embed = nn.Embedding(VOCAB, T_D)
        self.blocks = nn.ModuleList(Block() for _ in range(T_L))
        self.norm = RMSNorm(T_D)
        self.head = nn.Linear(T_D, VOCAB, bias=False)
        d = T_D // T_H
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        f = torch.outer(torch.arange(MSL).float(), inv)
        emb = torch.cat([f, f], -1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def loss(self, ids, img, labels, loss_mask, pad):
        with torch.no_grad():  # phase-2 freezing: the vision tower is frozen
            feats = self.vision(img)
        x = self.embed(ids)
        x = torch.cat([x[:, :START], self.proj(feats), x[:, START + NP:]], 1)
        t = x.shape[1]
        causal = torch.full((t, t), -1e9).triu(1)
        mask = causal[None, None] + (pad[:, None, None, :].float() * -1e9)
        for blk in self.blocks:
            x = blk(x, self.cos[:t], self.sin[:t], mask)
        h = self.norm(x)[loss_mask.bool()]  # only supervised positions reach the LM head
        return F.cross_entropy(self.head(h), labels[loss_mask.bool()], reduction="sum") / loss_mask.sum()


model = Llava()
for p_ in model.vision.parameters():
    p_.requires_grad_(False)
opt = torch.optim.AdamW([p_ for p_ in model.parameters() if p_.requires_grad], lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
ids = torch.randint(3, VOCAB, (B, MSL))
labels = torch.randint(3, VOCAB, (B, MSL))
loss_mask = torch.zeros(B, MSL, dtype=torch.long)
loss_mask[:, 300:511] = 1
pad = torch.zeros(B, MSL, dtype=torch.long)
img = torch.randn(B, 3, IMG, IMG)

times, cpu_times = [], []
for i in range(args.warmup + args.steps):
    t0, c0 = time.perf_counter(), time.process_time()
    opt.zero_grad(set_to_none=True)
    loss = model.loss(ids, img, labels, loss_mask, pad)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0  # CPU time: user + sys, every thread
    if i >= args.warmup:
        times.append(dt)
        cpu_times.append(dc)
print(json.dumps({
    "framework": f"PyTorch {torch.__version__}",
    "threads": torch.get_num_threads(),
    "step_s": statistics.median(times),
    "steps": times,
    "step_cpu_s": statistics.median(cpu_times),
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "trainable": sum(p_.numel() for p_ in model.parameters() if p_.requires_grad),
    "loss": float(loss.detach()),
}))
