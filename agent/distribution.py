"""MaskedGridDistribution: the policy distribution over the map-shaped action head, in torch.

Logits come from a convolutional net as float (B, A, H, W) with A = 34 (the choices of the 7
components of :mod:`agent.actions`, in ``OFFSETS`` order); masks are bool (B, H, W, A) from
:func:`agent.masks.action_masks`. Everything is a handful of tensor ops over all active cells and
components at once (gathered sparsely: only cells holding our robot or factory center); there is
no Python loop over cells or components.

* A masked logit is replaced by ``MASKED_LOGIT`` (-1e8, finite), so its probability is exactly 0
  in float32 and no NaN appears, even when a component has one legal choice or none.
* A component counts for a cell only if it is *present* (some choice unmasked: an absent robot or
  factory has an all-False mask) and *used* by the cell's robot type (``agent.actions.USES``:
  move_dir only for move, etc.; the factory component whenever present).
* ``log_prob(a)`` sums, over cells, the log-probabilities of the components that ``a``'s robot
  type uses.
* ``entropy()`` is the exact entropy of each cell's joint distribution:
  ``H = H(type) + sum_t p(t) * sum_{k used by t} H(k)`` (+ ``H(factory)``), summed over cells.
  Masked entries contribute ``p log p = 0``, exactly (see notes/masking.md).
* ``kl(other)`` is the exact ``KL(self || other)`` with the same gating.
"""

import torch

from agent.actions import (
    C_FACTORY, C_TYPE, NUM_COMPONENTS, NUM_LOGITS, NUM_ROBOT_TYPES, NVEC, OFFSETS, ROBOT_SUB_COMPONENTS, USES,
)

MASKED_LOGIT = -1e8
MAX_CHOICES = int(NVEC.max())

# (K, MAX_CHOICES) gather index into the A+1 axis; padding points at the extra column A
_INDEX = torch.full((NUM_COMPONENTS, MAX_CHOICES), NUM_LOGITS, dtype=torch.long)
for _k in range(NUM_COMPONENTS):
    _INDEX[_k, : int(NVEC[_k])] = torch.arange(int(OFFSETS[_k]), int(OFFSETS[_k] + NVEC[_k]))
_USES = torch.as_tensor(USES, dtype=torch.float32)  # (7 robot types, 6 robot components)
# which of the K components count given the robot type: the robot's by USES, the factory's always
_USES_ALL = torch.ones(NUM_ROBOT_TYPES, NUM_COMPONENTS)
_USES_ALL[:, : _USES.shape[1]] = _USES


class MaskedGridDistribution:
    """Factorised masked categorical over every cell and component.

    Only *active* cells (some choice of some component unmasked: our robot or factory center is
    there) are computed: they are gathered once into an (N, K, M) tensor, so the cost scales with
    the number of units, not with the map area. Inactive cells contribute nothing to log-prob,
    entropy or KL and get zero gradient.

    Args:
        logits (torch.Tensor): float (B, A, H, W), A = 34.
        masks (torch.Tensor): bool (B, H, W, A).

    Raises:
        ValueError: shapes disagree or A != 34.
    """

    def __init__(self, logits, masks):
        if logits.dim() != 4 or logits.shape[1] != NUM_LOGITS:
            raise ValueError(f"logits must be (B, {NUM_LOGITS}, H, W), got {tuple(logits.shape)}")
        B, A, H, W = logits.shape
        if tuple(masks.shape) != (B, H, W, A):
            raise ValueError(f"masks must be {(B, H, W, A)} to match logits, got {tuple(masks.shape)}")
        masks = masks.to(device=logits.device, dtype=torch.bool)
        if logits.dtype in (torch.float16, torch.bfloat16):  # MASKED_LOGIT does not fit in half
            logits = logits.float()
        self.shape = (B, H, W)
        self.dtype = logits.dtype
        self.device = logits.device
        active = masks.any(dim=-1)  # (B, H, W)
        idx = active.nonzero(as_tuple=False)  # (N, 3): batch, x, y
        self.index = idx
        self.batch_index = idx[:, 0]
        z = logits.permute(0, 2, 3, 1)[idx[:, 0], idx[:, 1], idx[:, 2]]  # (N, A)
        m = masks[idx[:, 0], idx[:, 1], idx[:, 2]]  # (N, A)
        z = torch.where(m, z, torch.full_like(z, MASKED_LOGIT))
        gidx = _INDEX.to(z.device)
        zk = torch.cat([z, torch.full_like(z[:, :1], MASKED_LOGIT)], dim=-1)[:, gidx]  # (N, K, M)
        mk = torch.cat([m, torch.zeros_like(m[:, :1])], dim=-1)[:, gidx]
        self.masks = mk
        self.log_p = torch.log_softmax(zk, dim=-1)  # (N, K, M)
        self.active_present = mk.any(dim=-1)  # (N, K)

    # ------------------------------------------------------------------ helpers
    @property
    def present(self):
        """bool (B, H, W, K): component k has a legal choice on the cell (dense view)."""
        out = torch.zeros(*self.shape, NUM_COMPONENTS, dtype=torch.bool, device=self.device)
        i = self.index
        out[i[:, 0], i[:, 1], i[:, 2]] = self.active_present
        return out

    def _per_batch(self, values):
        """Sum (N,) values per batch element -> (B,)."""
        out = torch.zeros(self.shape[0], dtype=values.dtype, device=values.device)
        return out.index_add(0, self.batch_index, values)

    def _gather_actions(self, actions):
        i = self.index
        return actions.long()[i[:, 0], i[:, 1], i[:, 2]]  # (N, K)

    def _used(self, robot_type):
        """float (N, K): 1 where component k counts given the robot type per active cell."""
        used = _USES_ALL.to(device=self.device, dtype=self.log_p.dtype)[robot_type]  # (N, K)
        return used * self.active_present.to(used.dtype)

    def _component_entropy(self):
        p = self.log_p.exp()
        plogp = torch.where(self.masks, p * self.log_p, torch.zeros_like(p))
        return -plogp.sum(-1)  # (N, K)

    def _gated_sum(self, per_component, type_probs):
        """per batch: sum over cells of c_type + sum_t p_t sum_{k used by t} c_k + c_factory."""
        present = self.active_present.to(per_component.dtype)
        c = per_component * present
        type_probs = type_probs * present[:, C_TYPE:C_TYPE + 1]
        uses = _USES.to(device=c.device, dtype=c.dtype)  # (7, 6)
        expected = ((type_probs @ uses[:, ROBOT_SUB_COMPONENTS]) * c[:, ROBOT_SUB_COMPONENTS]).sum(-1)
        return self._per_batch(c[:, C_TYPE] + expected + c[:, C_FACTORY])

    def _dense(self, choice):
        out = torch.zeros(*self.shape, NUM_COMPONENTS, dtype=torch.long, device=self.device)
        i = self.index
        out[i[:, 0], i[:, 1], i[:, 2]] = torch.where(self.active_present, choice, torch.zeros_like(choice))
        return out

    # ------------------------------------------------------------------ API
    def sample(self, generator=None):
        """int64 (B, H, W, K) choices: legal ones only, 0 where a component has no legal choice."""
        u = torch.rand(self.log_p.shape, generator=generator, device=self.device).clamp_(1e-20, 1.0)
        g = self.log_p.detach() - torch.log(-torch.log(u)).to(self.log_p.dtype)
        g = torch.where(self.masks, g, torch.full_like(g, -float("inf")))
        return self._dense(g.argmax(dim=-1))

    def mode(self):
        """int64 (B, H, W, K): the most likely legal choice per component."""
        g = torch.where(self.masks, self.log_p.detach(), torch.full_like(self.log_p, -float("inf")))
        return self._dense(g.argmax(dim=-1))

    def joint_mode(self):
        """int64 (B, H, W, K): the most likely legal *action* of each cell, the argmax of the joint
        distribution: the robot type ``t`` maximising ``log p(t) + sum_{k used by t} max_c log p(k = c)``,
        its used components at their most likely choice, and the factory's most likely choice.

        :meth:`mode` takes each component's argmax apart, so the robot type ``move`` wins whenever
        its probability, summed over the four directions, is the largest, even when one ``dig``
        is likelier than every single move (``p(dig) = 0.3`` against ``p(move) = 0.5`` spread over
        four directions: ``mode`` moves, ``joint_mode`` digs). Components a type does not use
        hold their own argmax (as in :meth:`mode`); they are not part of the action sent.
        """
        g = torch.where(self.masks, self.log_p.detach(), torch.full_like(self.log_p, -float("inf")))
        best, choice = g.max(dim=-1)  # (N, K)
        sub = torch.where(self.active_present, best, torch.zeros_like(best))[:, ROBOT_SUB_COMPONENTS]
        uses = _USES.to(device=sub.device, dtype=sub.dtype)[:, ROBOT_SUB_COMPONENTS]  # (7, 5)
        # a type a cell cannot take is -inf already; 0 * -inf never occurs: sub is finite where present
        score = g[:, C_TYPE, :NUM_ROBOT_TYPES] + sub @ uses.t()  # (N, 7)
        choice = choice.clone()
        choice[:, C_TYPE] = torch.where(self.active_present[:, C_TYPE], score.argmax(dim=-1), choice[:, C_TYPE])
        return self._dense(choice)

    def log_prob(self, actions):
        """float (B,): sum over cells of the log-probabilities of the used components.

        Args:
            actions (torch.Tensor): int (B, H, W, K).
        """
        a = self._gather_actions(actions)
        lp = self.log_p.gather(-1, a.unsqueeze(-1)).squeeze(-1)  # (N, K)
        return self._per_batch((lp * self._used(a[:, 0])).sum(-1))

    def entropy(self):
        """float (B,): exact entropy of the joint action of all cells (nats)."""
        return self._gated_sum(self._component_entropy(), self.log_p[:, C_TYPE, :NUM_ROBOT_TYPES].exp())

    def kl(self, other):
        """float (B,): exact KL(self || other) over the joint action (nats); same masks assumed."""
        p = self.log_p.exp()
        d = torch.where(self.masks, p * (self.log_p - other.log_p), torch.zeros_like(p)).sum(-1)
        return self._gated_sum(d, p[:, C_TYPE, :NUM_ROBOT_TYPES])

    def cell_log_prob(self, actions):
        """float (B, H, W): per-cell log-probabilities (used components only; 0 on inactive cells)."""
        a = self._gather_actions(actions)
        lp = self.log_p.gather(-1, a.unsqueeze(-1)).squeeze(-1)
        vals = (lp * self._used(a[:, 0])).sum(-1)
        out = torch.zeros(self.shape, dtype=vals.dtype, device=self.device)
        i = self.index
        return out.index_put((i[:, 0], i[:, 1], i[:, 2]), vals)
