"""Numerical checks of every formula in notes/masking.md: autograd (float64) against the closed forms.

Sections follow the note:
1. d log p_i / d z_j = 1[i=j] - p_j, rows sum to zero;
2. masked logits get zero policy gradient (torch.where cuts the graph; additive -1e8 underflows p_j to 0);
3. dH/dz = -p (H + log p) on valid entries, 0 on masked ones;
4. d KL(q||p) / dz = p - q for p = softmax(z), zero where both mask;
5. the factorised, robot-type-gated grid case through agent.distribution.MaskedGridDistribution;
6. naive masking: ratio = Z_valid / Z_all <= 1 and approx_kl > 0 before any update.
"""

import math

import numpy as np
import pytest
import torch

from agent.actions import C_AMOUNT, C_FACTORY, C_TYPE, NUM_COMPONENTS, NUM_LOGITS, NVEC, USES, component_slice
from agent.distribution import MASKED_LOGIT, MaskedGridDistribution

F64 = torch.float64
ROBOT_COMPONENTS = range(1, 6)  # move_dir .. amount: gated by robot_type
USES_T = torch.as_tensor(USES, dtype=F64)  # (7 types, 6 robot components)


# --------------------------------------------------------------------------- helpers
def gen(seed):
    return torch.Generator().manual_seed(seed)


def rows_case(seed, rows=64, n=7, p_legal=0.5, dtype=F64, scale=3.0):
    """Random logits (rows, n) and bool masks with at least one legal and (when n > 1) one masked choice."""
    g = gen(seed)
    z = (torch.randn(rows, n, generator=g, dtype=F64) * scale).to(dtype)
    m = torch.rand(rows, n, generator=g) < p_legal
    first = torch.randint(0, n, (rows,), generator=g)
    m[torch.arange(rows), first] = True
    other = (first + 1 + torch.randint(0, n - 1, (rows,), generator=g)) % n
    m[torch.arange(rows), other] = False
    return z, m


def masked_log_softmax(z, m, M=MASKED_LOGIT):
    """The luxkit recipe: replace masked logits by a large negative finite M, then log_softmax."""
    return torch.log_softmax(torch.where(m, z, torch.full_like(z, M)), dim=-1)


def sample_valid(p, g):
    """One sample per row of p (rows, n) (p is exactly 0 on masked entries)."""
    return torch.multinomial(p.detach().double(), 1, generator=g).squeeze(-1)


def head_case(seed, B=2, H=5, W=5, p_robot=0.6, p_factory=0.3, p_legal=0.5, p_comp=0.8, scale=2.0):
    """Random (B, 34, H, W) logits and (B, H, W, 34) masks built like agent.masks.action_masks:

    * cells without a robot: every robot component all-False; without a factory: factory all-False;
    * a robot's move_dir / transfer_dir / transfer_res / pickup_res is absent (all-False) with
      probability 1 - p_comp, and then the robot types that use it are masked (as masks.py does);
      amount is always all-True for a robot; keep is forced legal if no type is left;
    * every present component keeps at least one legal choice.
    """
    g = gen(seed)
    logits = torch.randn(B, NUM_LOGITS, H, W, generator=g, dtype=F64) * scale
    masks = torch.rand(B, H, W, NUM_LOGITS, generator=g) < p_legal
    robot = torch.rand(B, H, W, generator=g) < p_robot
    factory = torch.rand(B, H, W, generator=g) < p_factory
    for k in range(NUM_COMPONENTS):
        sl = component_slice(k)
        m = masks[..., sl].clone()
        idx = torch.randint(0, int(NVEC[k]), (B, H, W), generator=g)
        m.scatter_(-1, idx.unsqueeze(-1), True)  # at least one legal choice
        if k == 5:
            m[:] = True  # amount: always legal for a robot
        present = factory if k == C_FACTORY else robot
        if k in (1, 2, 3, 4):
            present = present & (torch.rand(B, H, W, generator=g) < p_comp)
        masks[..., sl] = m & present.unsqueeze(-1)
    tsl = component_slice(C_TYPE)
    t = masks[..., tsl].clone()
    for k in ROBOT_COMPONENTS:
        absent = ~masks[..., component_slice(k)].any(-1)
        users = torch.as_tensor(USES[:, k])
        t &= ~(absent.unsqueeze(-1) & users)
    t[..., 0] |= robot & ~t.any(-1)  # forced keep
    masks[..., tsl] = t & robot.unsqueeze(-1)
    return logits, masks


def reference_components(logits, masks):
    """Independent per-component reference (no MASKED_LOGIT trick): exp / normalise over legal entries.

    Returns a list over components k of dicts with p (B,H,W,n_k), logp (0 on masked entries),
    H (B,H,W), m (B,H,W,n_k) and present (B,H,W).
    """
    z = logits.detach().permute(0, 2, 3, 1)
    out = []
    for k in range(NUM_COMPONENTS):
        sl = component_slice(k)
        zk, mk = z[..., sl], masks[..., sl]
        present = mk.any(-1)
        zmax = torch.where(mk, zk, torch.tensor(-math.inf, dtype=F64)).amax(-1, keepdim=True)
        zmax = torch.where(present.unsqueeze(-1), zmax, torch.zeros_like(zmax))
        e = torch.where(mk, torch.exp(zk - zmax), torch.zeros_like(zk))
        p = e / e.sum(-1, keepdim=True).clamp_min(1e-300)
        logp = torch.where(mk, torch.log(torch.where(mk, p, torch.ones_like(p))), torch.zeros_like(p))
        out.append(dict(p=p, logp=logp, H=-(p * logp).sum(-1), m=mk, present=present))
    return out


def type_weights(ref_type_p, comps):
    """w_k = sum_t P(t) USES[t, k] * present_k for robot components k = 1..5: (B, H, W, 5)."""
    w = torch.einsum("bhwt,tk->bhwk", ref_type_p, USES_T[:, 1:])
    present = torch.stack([comps[k]["present"] for k in ROBOT_COMPONENTS], -1).to(F64)
    return w * present


def to_grad_layout(per_component):
    """List over k of (B, H, W, n_k) -> (B, H, W, 34)."""
    return torch.cat(per_component, dim=-1)


def logit_grad(logits):
    return logits.grad.permute(0, 2, 3, 1)  # (B, H, W, 34)


# --------------------------------------------------------------------------- 1. softmax Jacobian
@pytest.mark.parametrize("seed", range(5))
def test_log_softmax_jacobian_is_identity_minus_p_and_rows_sum_to_zero(seed):
    g = gen(seed)
    n = int(torch.randint(2, 9, (1,), generator=g))
    z = torch.randn(n, generator=g, dtype=F64) * 3
    J = torch.autograd.functional.jacobian(lambda x: torch.log_softmax(x, -1), z)  # J[i, j] = dlog p_i / dz_j
    p = torch.softmax(z, -1)
    closed = torch.eye(n, dtype=F64) - p.unsqueeze(0)
    torch.testing.assert_close(J, closed, rtol=0, atol=1e-14)
    torch.testing.assert_close(J.sum(1), torch.zeros(n, dtype=F64), rtol=0, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_masked_jacobian_valid_rows(seed):
    """With masking, for a legal i: dlog p_i/dz_j = 1[i=j] - p_j on legal j and exactly 0 on masked j."""
    z, m = rows_case(100 + seed, rows=1, n=9)
    z, m = z[0], m[0]
    J = torch.autograd.functional.jacobian(lambda x: masked_log_softmax(x, m), z)
    p = masked_log_softmax(z, m).exp()
    assert torch.all(p[~m] == 0.0)
    closed = (torch.eye(len(z), dtype=F64) - p.unsqueeze(0)) * m.to(F64).unsqueeze(0)
    torch.testing.assert_close(J[m], closed[m], rtol=0, atol=1e-14)
    assert torch.all(J[m][:, ~m] == 0.0)
    torch.testing.assert_close(J[m].sum(1), torch.zeros(int(m.sum()), dtype=F64), rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- 2. zero gradient on masked logits
def _pg_loss_grad(z, m, logp_fn, seed):
    z = z.clone().requires_grad_(True)
    logp = logp_fn(z, m)
    g = gen(seed)
    a = sample_valid(logp.exp(), g)
    adv = torch.randn(z.shape[0], generator=g, dtype=F64).to(z.dtype)
    loss = -(adv * logp.gather(-1, a.unsqueeze(-1)).squeeze(-1)).sum()
    loss.backward()
    return z.grad, logp.detach().exp(), a, adv


@pytest.mark.parametrize("seed", range(3))
def test_where_masking_gives_exactly_zero_gradient_and_the_closed_form(seed):
    z, m = rows_case(200 + seed)
    grad, p, a, adv = _pg_loss_grad(z, m, masked_log_softmax, seed)
    assert torch.all(grad[~m] == 0.0)
    onehot = torch.nn.functional.one_hot(a, z.shape[1]).to(F64)
    closed = adv.unsqueeze(-1) * (p - onehot)  # d(-A log p_a)/dz_j = A (p_j - 1[j=a])
    torch.testing.assert_close(grad, closed, rtol=0, atol=1e-13)
    torch.testing.assert_close(grad.sum(-1), torch.zeros(len(z), dtype=F64), rtol=0, atol=1e-13)


def additive_log_softmax(M):
    def f(z, m):
        return torch.log_softmax(z + (~m).to(z.dtype) * M, dim=-1)
    return f


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_additive_minus_1e8_masking_also_gives_exactly_zero(dtype):
    """z + M (1 - m) lets the graph through (dz~/dz = 1), but A p_j is 0 because p_j underflows to 0."""
    z, m = rows_case(220, dtype=dtype)
    grad, p, a, adv = _pg_loss_grad(z, m, additive_log_softmax(-1e8), 221)
    assert torch.all(p[~m] == 0.0)
    assert torch.all(grad[~m] == 0.0)
    onehot = torch.nn.functional.one_hot(a, z.shape[1]).to(dtype)
    tol = 1e-6 if dtype == torch.float32 else 1e-13
    torch.testing.assert_close(grad, adv.unsqueeze(-1) * (p - onehot), rtol=0, atol=tol)
    assert grad[m].abs().max() > 0.1


def test_a_small_additive_penalty_is_not_masking():
    """M = -10 leaves p_j > 0 on masked choices: they then receive gradient A p_j."""
    z, m = rows_case(230)
    grad, p, _, adv = _pg_loss_grad(z, m, additive_log_softmax(-10.0), 231)
    assert torch.all(p[~m] > 0)
    torch.testing.assert_close(grad[~m], (adv.unsqueeze(-1) * p)[~m], rtol=0, atol=1e-15)
    assert torch.all(grad[~m] != 0.0)


def test_how_far_below_the_max_is_far_enough_depends_on_dtype():
    """A gap of 120 nats underflows exp in float32 (limit ~ -104) but not in float64 (limit ~ -745)."""
    z = torch.tensor([[0.0, -120.0]], dtype=F64)
    m = torch.tensor([[True, True]])
    for dtype, zero in ((torch.float32, True), (F64, False)):
        zz = z.clone().to(dtype).requires_grad_(True)
        logp = torch.log_softmax(zz, -1)
        (-logp[0, 0]).backward()
        assert (zz.grad[0, 1].item() == 0.0) is zero
    grad, _, _, _ = _pg_loss_grad(z.expand(4, 2).clone(), m.expand(4, 2), additive_log_softmax(0.0), 1)
    assert torch.all(grad[:, 1] != 0)  # float64: p_1 = e^-120 > 0


# --------------------------------------------------------------------------- 3. entropy gradient
def masked_entropy(z, m):
    logp = masked_log_softmax(z, m)
    p = logp.exp()
    return -torch.where(m, p * logp, torch.zeros_like(p)).sum(-1)


@pytest.mark.parametrize("seed", range(3))
def test_entropy_gradient_is_minus_p_times_H_plus_log_p(seed):
    z, m = rows_case(300 + seed)
    z.requires_grad_(True)
    H = masked_entropy(z, m)
    H.sum().backward()
    logp = masked_log_softmax(z.detach(), m)
    p = logp.exp()
    closed = torch.where(m, -p * (H.detach().unsqueeze(-1) + logp), torch.zeros_like(p))
    torch.testing.assert_close(z.grad, closed, rtol=0, atol=1e-13)
    assert torch.all(z.grad[~m] == 0.0)
    # H is the entropy of the distribution restricted to the legal set (reference with no M at all)
    ref = []
    for zi, mi in zip(z.detach(), m):
        q = torch.softmax(zi[mi], -1)
        ref.append(-(q * q.log()).sum())
    torch.testing.assert_close(H.detach(), torch.stack(ref), rtol=0, atol=1e-13)


def test_entropy_gradient_vanishes_exactly_at_uniform_over_legal_choices():
    _, m = rows_case(310)
    z = torch.where(m, torch.full(m.shape, 0.7, dtype=F64), torch.randn(m.shape, generator=gen(311), dtype=F64))
    z.requires_grad_(True)
    H = masked_entropy(z, m)
    H.sum().backward()
    torch.testing.assert_close(H.detach(), m.sum(-1).to(F64).log(), rtol=0, atol=1e-13)  # max = log |V|
    torch.testing.assert_close(z.grad, torch.zeros_like(z), rtol=0, atol=1e-14)


def test_minus_inf_masking_gives_nan_gradients_even_behind_a_where():
    """Why M is finite: with M = -inf, p log p = 0 * (-inf) = NaN in the unselected branch, and the
    backward of the where still multiplies through it (0 * -inf), poisoning every logit of the row."""
    z, m = rows_case(320, rows=4)
    z.requires_grad_(True)
    logp = torch.log_softmax(torch.where(m, z, torch.full_like(z, -math.inf)), -1)
    p = logp.exp()
    H = -torch.where(m, p * logp, torch.zeros_like(p)).sum(-1)
    assert torch.isfinite(H).all()  # the forward value is fine...
    H.sum().backward()
    assert torch.isnan(z.grad[m]).all()  # ...the gradient is not
    # with luxkit's finite M the same code is clean
    z2 = z.detach().clone().requires_grad_(True)
    masked_entropy(z2, m).sum().backward()
    assert torch.isfinite(z2.grad).all()


# --------------------------------------------------------------------------- 4. KL gradient
def masked_kl(lq, lp, mq):
    """KL(q || p) = sum over q's support of q (log q - log p)."""
    q = lq.exp()
    return torch.where(mq, q * (lq - lp), torch.zeros_like(q)).sum(-1)


@pytest.mark.parametrize("seed", range(3))
def test_kl_gradient_wrt_trained_policy_is_p_minus_q(seed):
    z, m = rows_case(400 + seed)  # p = softmax(z), the policy being trained
    w = torch.randn(z.shape, generator=gen(410 + seed), dtype=F64) * 2  # q, fixed (teacher / old policy)
    # q's support inside p's: q masks everything p masks, and a bit more (keep one legal per row)
    mq = m & (torch.rand(m.shape, generator=gen(420 + seed)) < 0.7)
    first = m.to(torch.int64).argmax(-1)
    mq[torch.arange(len(m)), first] = True
    z.requires_grad_(True)
    lp = masked_log_softmax(z, m)
    lq = masked_log_softmax(w, mq)
    kl = masked_kl(lq, lp, mq)
    kl.sum().backward()
    p, q = lp.detach().exp(), lq.exp()
    assert torch.all(q[~mq] == 0.0)
    torch.testing.assert_close(z.grad, p - q, rtol=0, atol=1e-13)
    both = ~m & ~mq
    assert torch.all(z.grad[both] == 0.0)
    only_q = m & ~mq  # q forbids, p allows: pushed down by p_j
    torch.testing.assert_close(z.grad[only_q], p[only_q], rtol=0, atol=1e-13)
    assert torch.all(kl.detach() >= -1e-15)


@pytest.mark.parametrize("seed", range(2))
def test_reverse_kl_gradient(seed):
    """Side remark in the note: d KL(p || q)/dz_i = p_i (log p_i - log q_i - KL(p || q)), 0 on masked."""
    z, m = rows_case(430 + seed)
    w = torch.randn(z.shape, generator=gen(440 + seed), dtype=F64)
    z.requires_grad_(True)
    lp = masked_log_softmax(z, m)
    lq = masked_log_softmax(w, m)
    kl = masked_kl(lp, lq, m)
    kl.sum().backward()
    p = lp.detach().exp()
    closed = torch.where(m, p * (lp.detach() - lq - kl.detach().unsqueeze(-1)), torch.zeros_like(p))
    torch.testing.assert_close(z.grad, closed, rtol=0, atol=1e-13)
    assert torch.all(z.grad[~m] == 0.0)


# --------------------------------------------------------------------------- 5. factorised grid
def _real_masks(turns=40, every=4):
    """agent.masks.action_masks of player_0 every ``every`` main-phase turns of a tiny game of
    uniform legal play (both sides): bool (N, 16, 16, NUM_LOGITS)."""
    import dataclasses

    from agent.actions import decode
    from agent.early import early_action
    from agent.masks import action_masks
    from agent.obs import GameState
    from agent.policy import sample_uniform_masked
    from wrappers.engine import make_env

    env = make_env("tiny", max_episode_length=turns)
    obs, _ = env.reset(seed=5)
    states = {p: GameState(dataclasses.asdict(env.env_cfg), p) for p in obs}
    rng = np.random.default_rng(0)
    out, done = [], False
    while not done:
        acts = {}
        for p, st in states.items():
            st.update(obs[p], step=env.env_steps)
            if st.step == 0 or st.is_early_phase:
                acts[p] = early_action(st)
                continue
            m = action_masks(st)
            if p == "player_0" and st.real_env_steps % every == 0:
                out.append(m)
            acts[p] = decode(st, sample_uniform_masked(m, rng))
        obs, _, term, trunc, _ = env.step(acts)
        done = any(term.values()) or any(trunc.values())
    return np.stack(out)


def _assert_head_structure(masks):
    """bool (B, H, W, NUM_LOGITS) masks are laid out as the real head's (agent.actions.OFFSETS) with
    agent.masks.action_masks' structure: a robot (a legal robot_type) has every amount legal, robot
    components exist only where a robot is, and a legal robot type never uses an absent component."""
    masks = torch.as_tensor(np.asarray(masks))
    assert masks.dtype == torch.bool and masks.ndim == 4 and masks.shape[-1] == NUM_LOGITS
    types = masks[..., component_slice(C_TYPE)]
    robot = types.any(-1)
    amount = masks[..., component_slice(C_AMOUNT)]
    assert torch.equal(amount.all(-1) & robot, robot) and not (amount.any(-1) & ~robot).any()
    for k in ROBOT_COMPONENTS:
        present = masks[..., component_slice(k)].any(-1)
        assert not (present & ~robot).any(), k
        users = torch.as_tensor(USES[:, k])
        assert not (types & ~present.unsqueeze(-1) & users).any(), k  # a legal type never uses an absent component
    assert robot.any() and (~robot).any() and masks[..., component_slice(C_FACTORY)].any()
    return robot


def test_head_case_looks_like_the_real_head():
    """The grid maths below run on head_case's logits and masks: they have the real head's shape
    (agent.actions: NVEC, the component order head_case and the references spell out, USES; the net's
    logits) and the structure agent.masks.action_masks gives real game states; both real masks and
    head_case's have robots with absent components (which the gated references handle)."""
    from agent import actions
    from agent.features import NUM_GLOBALS, NUM_PLANES
    from agent.net import build_net

    assert list(ROBOT_COMPONENTS) == list(range(NUM_COMPONENTS))[actions.ROBOT_SUB_COMPONENTS]
    assert (C_TYPE, C_AMOUNT, C_FACTORY) == (0, 5, NUM_COMPONENTS - 1)  # head_case's k == 5, ROBOT_COMPONENTS
    assert (actions.C_MOVE, actions.C_TDIR, actions.C_TRES, actions.C_PRES) == (1, 2, 3, 4)  # its k in (1, 2, 3, 4)
    assert NUM_LOGITS == int(NVEC.sum()) and USES.shape == (int(NVEC[C_TYPE]), NUM_COMPONENTS - 1)
    assert USES[:, C_TYPE].all() and not USES[:, C_AMOUNT].all()
    logits, masks = head_case(500, B=3, H=8, W=8)
    with torch.no_grad():
        net_logits, _ = build_net("small")(torch.zeros(3, NUM_PLANES, 8, 8), torch.zeros(3, NUM_GLOBALS))
    assert logits.shape == net_logits.shape == (3, NUM_LOGITS, 8, 8)
    real = _real_masks()
    for m in (real, masks):
        robot = _assert_head_structure(m)
        m = torch.as_tensor(np.asarray(m))
        assert any((~m[..., component_slice(k)].any(-1) & robot).any() for k in (1, 2, 3, 4))


@pytest.mark.parametrize("seed", range(3))
def test_grid_log_prob_gradient_is_onehot_minus_p_on_used_components(seed):
    logits, masks = head_case(510 + seed)
    logits.requires_grad_(True)
    d = MaskedGridDistribution(logits, masks)
    a = d.sample(gen(520 + seed))
    adv = torch.randn(logits.shape[0], generator=gen(530 + seed), dtype=F64)
    (adv * d.log_prob(a)).sum().backward()

    comps = reference_components(logits, masks)
    rtype = a[..., C_TYPE]
    parts = []
    for k, c in enumerate(comps):
        if k in (C_TYPE, C_FACTORY):
            used = c["present"]
        else:
            used = c["present"] & torch.as_tensor(USES[:, k])[rtype]
        onehot = torch.nn.functional.one_hot(a[..., k], int(NVEC[k])).to(F64)
        g = (onehot - c["p"]) * c["m"].to(F64) * used.unsqueeze(-1).to(F64)
        parts.append(g)
    closed = adv.view(-1, 1, 1, 1) * to_grad_layout(parts)
    grad = logit_grad(logits)
    torch.testing.assert_close(grad, closed, rtol=0, atol=1e-12)
    assert torch.all(grad[~masks] == 0.0)
    # an unused but present component gets nothing: e.g. move_dir of a robot that did not move
    unused_move = comps[1]["present"] & (rtype != 1)
    assert unused_move.any()
    assert torch.all(grad[..., component_slice(1)][unused_move] == 0.0)
    # the log-prob itself is the sum of used components' log p
    ref_lp = sum(
        ((c["logp"].gather(-1, a[..., k:k + 1]).squeeze(-1))
         * (c["present"] & (torch.ones_like(rtype, dtype=torch.bool) if k in (C_TYPE, C_FACTORY)
                            else torch.as_tensor(USES[:, k])[rtype])).to(F64)).sum((1, 2))
        for k, c in enumerate(comps))
    torch.testing.assert_close(d.log_prob(a).detach(), ref_lp, rtol=0, atol=1e-10)


def closed_form_gated_entropy_grad(comps):
    """dH/dz for H = H_T + sum_t P(t) E_t + H_F with E_t = sum_{k used by t, present} H_k.

    type:      -p_T (H_T + log p_T) + p_T (E - sum_s p_T(s) E_s)
    k = 1..5:  w_k * (-p_k (H_k + log p_k)),  w_k = sum_t P(t) USES[t, k]
    factory:   -p_F (H_F + log p_F)
    (masked entries: p = 0 and log p set to 0, so 0.)
    """
    cT = comps[C_TYPE]
    pT = cT["p"]
    Hk = torch.stack([comps[k]["H"] * comps[k]["present"].to(F64) for k in ROBOT_COMPONENTS], -1)  # (B,H,W,5)
    E = torch.einsum("tk,bhwk->bhwt", USES_T[:, 1:], Hk)  # (B,H,W,7)
    Ebar = (pT * E).sum(-1, keepdim=True)
    own = -pT * (cT["H"].unsqueeze(-1) + cT["logp"])
    gT = own + pT * (E - Ebar)
    w = type_weights(pT, comps)
    parts = [gT]
    for j, k in enumerate(ROBOT_COMPONENTS):
        c = comps[k]
        parts.append(w[..., j:j + 1] * (-c["p"] * (c["H"].unsqueeze(-1) + c["logp"])))
    cF = comps[C_FACTORY]
    parts.append(-cF["p"] * (cF["H"].unsqueeze(-1) + cF["logp"]))
    return to_grad_layout(parts), E, Ebar


@pytest.mark.parametrize("seed", range(3))
def test_grid_entropy_gradient_matches_the_gated_closed_form(seed):
    logits, masks = head_case(540 + seed)
    logits.requires_grad_(True)
    d = MaskedGridDistribution(logits, masks)
    H = d.entropy()
    H.sum().backward()
    comps = reference_components(logits, masks)
    closed, E, Ebar = closed_form_gated_entropy_grad(comps)
    grad = logit_grad(logits)
    torch.testing.assert_close(grad, closed, rtol=0, atol=1e-12)
    assert torch.all(grad[~masks] == 0.0)
    # the value too: sum over cells of H_T + sum_t P(t) E_t + H_F
    pT = comps[C_TYPE]["p"]
    ref = (comps[C_TYPE]["H"] + (pT * E).sum(-1) + comps[C_FACTORY]["H"]).sum((1, 2))
    torch.testing.assert_close(H.detach(), ref, rtol=0, atol=1e-10)
    # the cross term p_T (E - Ebar) is really there (types differ in sub-choice entropy)
    assert (pT * (E - Ebar)).abs().max() > 1e-3


@pytest.mark.parametrize("seed", range(3))
def test_grid_kl_gradient_wrt_the_trained_policy(seed):
    """teacher.kl(policy) = KL(teacher || policy); gradient into the policy's logits:
    type p_T - q_T, k = 1..5: w^q_k (p_k - q_k) with the teacher's type weights, factory p_F - q_F."""
    logits, masks = head_case(560 + seed)
    teacher_logits = torch.randn(logits.shape, generator=gen(570 + seed), dtype=F64) * 2
    logits.requires_grad_(True)
    teacher = MaskedGridDistribution(teacher_logits, masks)
    policy = MaskedGridDistribution(logits, masks)
    teacher.kl(policy).sum().backward()
    P = reference_components(logits, masks)
    Q = reference_components(teacher_logits, masks)
    w = type_weights(Q[C_TYPE]["p"], Q)
    parts = [P[C_TYPE]["p"] - Q[C_TYPE]["p"]]
    for j, k in enumerate(ROBOT_COMPONENTS):
        parts.append(w[..., j:j + 1] * (P[k]["p"] - Q[k]["p"]))
    parts.append(P[C_FACTORY]["p"] - Q[C_FACTORY]["p"])
    closed = to_grad_layout(parts)
    grad = logit_grad(logits)
    torch.testing.assert_close(grad, closed, rtol=0, atol=1e-12)
    assert torch.all(grad[~masks] == 0.0)
    assert grad[masks].abs().max() > 1e-3


# --------------------------------------------------------------------------- 6. naive masking
@pytest.mark.parametrize("seed", range(3))
def test_naive_ratio_is_Z_valid_over_Z_all_for_every_valid_action(seed):
    z, m = rows_case(600 + seed)
    lp_masked = masked_log_softmax(z, m)
    lp_raw = torch.log_softmax(z, -1)
    Z_valid = torch.where(m, z.exp(), torch.zeros_like(z)).sum(-1)
    Z_all = z.exp().sum(-1)
    ratio = (lp_raw - lp_masked).exp()  # p_unmasked(a) / p_masked(a) for every a
    expected = (Z_valid / Z_all).unsqueeze(-1).expand_as(ratio)
    torch.testing.assert_close(ratio[m], expected[m], rtol=1e-12, atol=0)
    assert torch.all(ratio[m] < 1.0)  # every row has a masked choice
    # = 1 - (mass the raw policy puts on invalid choices)
    torch.testing.assert_close(Z_valid / Z_all, 1 - torch.where(~m, lp_raw.exp(), torch.zeros_like(z)).sum(-1))


def approx_kl(logratio):
    """The usual PPO diagnostic: mean of (r - 1) - log r, r = exp(logratio)."""
    return ((logratio.exp() - 1) - logratio).mean()


def naive_masks(masks):
    """What a learner that ignores validity in the update sees: every choice of a present component."""
    out = masks.clone()
    for k in range(NUM_COMPONENTS):
        sl = component_slice(k)
        out[..., sl] = masks[..., sl].any(-1, keepdim=True).expand_as(masks[..., sl])
    return out


@pytest.mark.parametrize("seed", range(2))
def test_naive_masking_ratio_and_approx_kl_at_the_first_epoch(seed):
    logits, masks = head_case(610 + seed, B=8, H=6, W=6)
    rollout = MaskedGridDistribution(logits, masks)  # sampling: masked
    a = rollout.sample(gen(620 + seed))
    old_logp = rollout.log_prob(a)  # stored in the buffer

    # update, naive: parameters unchanged, log-prob recomputed without the validity masks
    naive = MaskedGridDistribution(logits, naive_masks(masks))
    logratio = naive.log_prob(a) - old_logp
    # closed form: sum over cells and used components of log(Z_valid / Z_all)
    z = logits.permute(0, 2, 3, 1)
    expected = torch.zeros(logits.shape[0], dtype=F64)
    rtype = a[..., C_TYPE]
    for k in range(NUM_COMPONENTS):
        sl = component_slice(k)
        zk, mk = z[..., sl], masks[..., sl]
        present = mk.any(-1)
        used = present if k in (C_TYPE, C_FACTORY) else present & torch.as_tensor(USES[:, k])[rtype]
        lzv = torch.logsumexp(torch.where(mk, zk, torch.tensor(-math.inf, dtype=F64)), -1)
        lza = torch.logsumexp(zk, -1)
        expected += torch.where(used, lzv - lza, torch.zeros_like(lza)).sum((1, 2))
    torch.testing.assert_close(logratio, expected, rtol=0, atol=1e-10)
    assert torch.all(logratio < 0)  # ratio < 1 for every sample: some used component had a masked choice
    assert approx_kl(logratio) > 0
    assert ((logratio.exp() - 1).abs() > 0.2).float().mean() > 0.5  # clip fraction at epoch 1

    # full masking: the update rebuilds the same masked distribution, ratio is exactly 1
    full = MaskedGridDistribution(logits.clone(), masks)
    logratio_full = full.log_prob(a) - old_logp
    assert torch.all(logratio_full == 0.0)
    assert approx_kl(logratio_full) == 0.0
    assert ((logratio_full.exp() - 1).abs() > 0.2).float().mean() == 0.0


def test_naive_ratio_on_a_lux_sized_grid_is_astronomically_small():
    """64x64 map, 100 robots and 8 factories, uniform logits (a freshly initialised head)."""
    g = gen(630)
    S, n_robots, n_factories = 64, 100, 8
    logits, masks = head_case(631, B=1, H=S, W=S, p_robot=0.0, p_factory=0.0, scale=0.0)
    cells = torch.randperm(S * S, generator=g)
    _, dense = head_case(632, B=1, H=S, W=S, p_robot=1.0, p_factory=1.0)
    robot_cells, factory_cells = cells[:n_robots], cells[n_robots:n_robots + n_factories]
    flat, dflat = masks.view(S * S, NUM_LOGITS), dense.view(S * S, NUM_LOGITS)
    fsl = component_slice(C_FACTORY)
    flat[robot_cells, :fsl.start] = dflat[robot_cells, :fsl.start]
    flat[factory_cells, fsl] = dflat[factory_cells, fsl]
    d = MaskedGridDistribution(logits, masks)
    a = d.sample(gen(633))
    logratio = MaskedGridDistribution(logits, naive_masks(masks)).log_prob(a) - d.log_prob(a)
    assert logratio.item() < math.log(1e-10)
    assert approx_kl(logratio) > 10.0


def test_naive_ratio_underflows_to_zero_in_float32_and_kills_the_policy_gradient():
    """In float32 (what PPO runs in) exp(log r) is exactly 0 once log r < ~ -104: then the clipped
    surrogate min(r A, clip(r) A) has zero gradient for every sample, whatever the sign of A."""
    S = 32
    logits, masks = head_case(640, B=4, H=S, W=S, p_robot=0.2, p_factory=0.01, scale=0.0)
    logits = logits.float().requires_grad_(True)
    rollout = MaskedGridDistribution(logits.detach(), masks)
    a = rollout.sample(gen(641))
    old_logp = rollout.log_prob(a)
    new_logp = MaskedGridDistribution(logits, naive_masks(masks)).log_prob(a)
    logratio = new_logp - old_logp
    assert torch.all(logratio < -105)
    ratio = logratio.exp()
    assert torch.all(ratio == 0.0)
    adv = torch.tensor([1.0, -1.0, 2.0, -0.5])
    eps = 0.2
    loss = -torch.min(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv).mean()
    loss.backward()
    assert torch.all(logits.grad == 0.0)


def test_entropy_maximum_puts_76_percent_on_transfer_when_everything_is_legal():
    """Section 6, practical consequence: with every choice legal and uniform sub-components, the
    joint entropy's type gradient vanishes at p0(t) proportional to the completions of t
    (keep 1, move 4, transfer 5*5*4, pickup 5*4, dig 1, self_destruct 1, recharge 4: 131)."""
    completions = np.array([np.prod([NVEC[k] for k in range(1, C_FACTORY) if USES[t, k]] or [1])
                            for t in range(USES.shape[0])], dtype=np.float64)
    assert completions.sum() == 131 and completions[2] == 100
    logits = torch.zeros(1, NUM_LOGITS, 1, 1, dtype=torch.float64)
    logits[0, component_slice(C_TYPE), 0, 0] = torch.as_tensor(np.log(completions))
    logits.requires_grad_(True)
    masks = torch.ones(1, 1, 1, NUM_LOGITS, dtype=torch.bool)
    d = MaskedGridDistribution(logits, masks)
    d.entropy().sum().backward()
    torch.testing.assert_close(logits.grad[0, component_slice(C_TYPE), 0, 0],
                               torch.zeros(USES.shape[0], dtype=torch.float64), rtol=0, atol=1e-12)
    p_transfer = d.log_p[0, C_TYPE, 2].exp().item()
    assert abs(p_transfer - 100 / 131) < 1e-12 and round(p_transfer, 2) == 0.76
