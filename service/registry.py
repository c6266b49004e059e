"""The model registry in Redis, and the per-process provider that serves its active models.

Every host sees the same registry: a model's three files are stored as bytes in one hash per
version (``modq:model:<version>``), listed in ``modq:models``. Promoting pushes a version onto a
history list (the site's, under its hash tag, or the global one); the head of that list is the
active model and popping it rolls back. ``modq:model-assignments`` mirrors the heads (site name,
or ``*`` for every site, to version) so that a server learns of a change with one HGETALL.
Versions stay until ``prune`` deletes those that are neither recent nor active nor a rollback
target.

:class:`ModelProvider` is what ``Services.scorer_for()`` asks. A background thread polls the
assignments every ``poll_seconds``, loads and verifies a newly assigned model off the request
path, then swaps one dict reference, so a request sees either the old model or the new one and
never waits for, or fails on, a load.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import redis

from model.artifact import MANIFEST, VOCABULARY, WEIGHTS, ModelFileError, read_artifact
from model.scorer import Scorer, load_model
from service.keys import RedisKeys, as_text

EVERY_SITE = "*"
MODEL_FILES = (MANIFEST, WEIGHTS, VOCABULARY)
HISTORY_LIMIT = 50  # promotions remembered per site for rollback
POLL_SECONDS = 2.0
# A model that failed to load is tried again after this long, doubling up to the maximum.
RETRY_SECONDS = 10.0
MAX_RETRY_SECONDS = 600.0
CHECK_TEXT = "modq model check"

logger = logging.getLogger("modq.models")


class RegistryError(Exception):
    """A registry operation the user asked for cannot be done (unknown version, nothing to undo,
    a model that does not load)."""


# What loading a registered model can fail with: a bad or missing file, Redis, a broken manifest.
LOAD_ERRORS = (ModelFileError, RegistryError, redis.exceptions.RedisError, ValueError, KeyError)


# In a model's ``label_sites``: labels were trained on whose site the label file did not say.
ANY_SITE = "*"


@dataclass(frozen=True)
class ModelRecord:
    """A registered model, without its files."""

    version: str
    registered_at: float
    trained_for: str | None  # the site whose labels it was adapted to, if any
    report: str | None  # where `modq train` wrote the evaluation report
    manifest_json: str
    # The sites whose labels it was trained on; ANY_SITE where a label file named none.
    label_sites: tuple[str, ...] = ()

    def trained_on_labels_of(self, site: str) -> bool:
        """Whether labels of ``site`` may be among those it was trained on."""
        return self.trained_for == site or site in self.label_sites or ANY_SITE in self.label_sites

    def describe(self) -> str:
        return f"{self.version} (trained for {self.trained_for or 'every site'})"


@dataclass(frozen=True)
class PruneResult:
    """What :meth:`ModelRegistry.prune` deleted, and why each model of the scope it kept stays."""

    deleted: list[ModelRecord]
    kept: dict[str, str]  # version to the reason it is kept


class ModelRegistry:
    """Registers model folders in Redis and keeps which version each site uses.

    :param connection: a Redis client.
    :param keys: the key builder.
    """

    def __init__(self, connection: redis.Redis, keys: RedisKeys) -> None:
        self.connection = connection
        self.keys = keys

    # --- models -------------------------------------------------------------------------------

    def register(
        self,
        model_dir: str | os.PathLike,
        trained_for: str | None = None,
        report: str | None = None,
        label_sites: Iterable[str] = (),
    ) -> ModelRecord:
        """Store a model folder's files as a candidate (registering twice is harmless).

        :param label_sites: the sites whose labels it was trained on (``ANY_SITE`` for labels of
            a site not named).

        :raise ModelFileError: the folder is not a valid model.
        """
        folder = Path(model_dir)
        version = read_artifact(folder).manifest["version"]  # verifies every file first
        files = {name: (folder / name).read_bytes() for name in MODEL_FILES}
        now = time.time()
        fields: dict[str, bytes | str] = {
            **files,
            "registered_at": repr(now),
            "trained_for": trained_for or "",
            "report": report or "",
            "label_sites": ",".join(sorted(set(label_sites))),
        }
        # The files first, the index entry last: a listed version is always complete.
        self.connection.hset(self.keys.model(version), mapping=fields)
        self.connection.zadd(self.keys.models(), {version: now}, nx=True)
        return self.require(version)

    def get(self, version: str) -> ModelRecord | None:
        """A registered model's record, or None."""
        try:
            key = self.keys.model(version)
        except ValueError:
            return None
        values = self.connection.hmget(
            key, MANIFEST, "registered_at", "trained_for", "report", "label_sites"
        )
        if values[0] is None:
            return None
        return ModelRecord(
            version=version,
            registered_at=float(values[1] or 0),
            trained_for=as_text(values[2]) or None,
            report=as_text(values[3]) or None,
            manifest_json=as_text(values[0]) or "{}",
            label_sites=tuple(filter(None, (as_text(values[4]) or "").split(","))),
        )

    def require(self, version: str) -> ModelRecord:
        """:raise RegistryError: no such version."""
        record = self.get(version)
        if record is None:
            raise RegistryError(
                f"no registered model {version!r}; `modq models list` shows the versions"
            )
        return record

    def list(self) -> list[ModelRecord]:
        """Every registered model, oldest first."""
        versions = [as_text(v) for v in self.connection.zrange(self.keys.models(), 0, -1)]
        return [record for v in versions if v and (record := self.get(v)) is not None]

    def write_files(self, version: str, folder: str | os.PathLike) -> Path:
        """Write a registered model's files into ``folder``."""
        self.require(version)
        contents = self.connection.hmget(self.keys.model(version), *MODEL_FILES)
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in zip(MODEL_FILES, contents, strict=True):
            if data is None:
                raise ModelFileError(f"registered model {version} lacks its file {name}")
            (out / name).write_bytes(data)
        return out

    def load(self, version: str) -> Scorer:
        """Load and verify a registered model (hashes checked exactly as for a folder), and score
        one text with it, so that a broken model fails here rather than on a request."""
        with tempfile.TemporaryDirectory(prefix="modq-model-") as folder:
            scorer = load_model(self.write_files(version, folder))
        scorer.score(CHECK_TEXT, "en")
        return scorer

    # --- which model serves whom --------------------------------------------------------------

    def active(self, site: str | None = None) -> str | None:
        """The version promoted for ``site`` itself (None: global), or None when there is none."""
        return as_text(self.connection.lindex(self.keys.model_history(site), 0))

    def serving(self, site: str) -> str | None:
        """The registered version that scores ``site``: its own, else the global one, else None
        (the model the servers were started with)."""
        return self.active(site) or self.active(None)

    def history(self, site: str | None = None) -> list[str]:
        """Promoted versions for ``site`` (None: global), newest (active) first."""
        versions = self.connection.lrange(self.keys.model_history(site), 0, -1)
        return [as_text(v) or "" for v in versions]

    def assignments(self) -> dict[str, str]:
        """Site name (or ``*``) to active version, as the servers see it."""
        raw = self.connection.hgetall(self.keys.model_assignments())
        return {as_text(k) or "": as_text(v) or "" for k, v in raw.items()}

    def promote(self, version: str, site: str | None = None) -> str | None:
        """Make ``version`` active for ``site`` (None: every site without its own model).

        :return: the version it replaces, if any.
        :raise RegistryError: no such version, or it does not load (a corrupt or incomplete file):
            servers would keep serving the previous model while reporting this one as active.
        """
        self.require(version)
        try:
            self.load(version)
        except LOAD_ERRORS as error:
            raise RegistryError(f"model {version} does not load, not promoted: {error}") from error
        previous = self.active(site)
        history = self.keys.model_history(site)
        pipeline = self.connection.pipeline(transaction=True)
        pipeline.lpush(history, version)
        pipeline.ltrim(history, 0, HISTORY_LIMIT - 1)
        pipeline.execute()
        self._publish(site)
        return previous

    def rollback(self, site: str | None = None) -> tuple[str, str | None]:
        """Go back to the version active before the current one.

        :return: (the version taken out, the version now active or None for the default).
        :raise RegistryError: nothing was promoted for ``site``, or the version before does not
            load: servers would keep serving the current model while reporting that one as
            active, so nothing changes.
        """
        history = self.history(site)
        if not history:
            scope = f"site {site!r}" if site else "the global default"
            raise RegistryError(f"nothing was promoted for {scope}; there is nothing to roll back")
        if len(history) > 1:
            try:
                self.load(history[1])
            except LOAD_ERRORS as error:
                raise RegistryError(
                    f"model {history[1]}, active before {history[0]}, does not load ({error}); "
                    "nothing rolled back: promote a version that loads instead"
                ) from error
        removed = as_text(self.connection.lpop(self.keys.model_history(site)))
        if removed is None:  # rolled back by someone else meanwhile
            raise RegistryError("the promotion history changed meanwhile; nothing rolled back")
        self._publish(site)
        return removed, self.active(site)

    def prune(self, site: str | None, keep: int, dry_run: bool = False) -> PruneResult:
        """Delete the models trained for ``site`` (None: for every site) that nothing needs.

        Kept: the ``keep`` newest of them, and every version that is active or the rollback target
        (the one before it) for any site or globally, whoever it was trained for. A deleted
        version is taken out of every promotion history first, so a later rollback skips it
        instead of assigning a model whose files are gone. Run it when no promotion is under way:
        a version promoted while it is being deleted would be assigned without its files.

        :param keep: how many of the newest models of the scope to keep whatever else holds; at
            least 1.
        :param dry_run: only say what would be deleted.
        :raise RegistryError: ``keep`` is below 1.
        """
        if keep < 1:
            raise RegistryError(f"--keep must be at least 1, got {keep}")
        # Every scope with a promotion history has an assignment (its head), plus the one asked.
        scopes = {None if s == EVERY_SITE else s for s in self.assignments()} | {site}
        histories = {scope: self.history(scope) for scope in scopes}
        kept: dict[str, str] = {}
        for scope, history in sorted(histories.items(), key=lambda item: item[0] or ""):
            name = f"site {scope}" if scope else "every site"
            for version, why in zip(history, ("active", "rollback target"), strict=False):
                kept.setdefault(version, f"{why} for {name}")
        records = [r for r in self.list() if r.trained_for == site]
        for record in records[-keep:]:  # list() is oldest first
            kept.setdefault(record.version, f"among the {keep} newest")
        deleted = [r for r in records if r.version not in kept]
        if not dry_run:
            for record in deleted:
                self._delete(record.version, histories)
        return PruneResult(
            deleted=deleted, kept={r.version: kept[r.version] for r in records if r.version in kept}
        )

    def _delete(self, version: str, histories: dict[str | None, list[str]]) -> None:
        # Out of the histories first, then out of the index, then the files: at every step what
        # a rollback or `models list` can reach is still complete.
        for scope, history in histories.items():
            if version in history:
                self.connection.lrem(self.keys.model_history(scope), 0, version)
        self.connection.zrem(self.keys.models(), version)
        self.connection.delete(self.keys.model(version))

    def _publish(self, site: str | None) -> None:
        # The history is the truth; the assignment is rebuilt from its head after every change,
        # so concurrent promotions and rollbacks still end with the two in agreement.
        field = site or EVERY_SITE
        head = self.active(site)
        if head is None:
            self.connection.hdel(self.keys.model_assignments(), field)
        else:
            self.connection.hset(self.keys.model_assignments(), field, head)


class ModelProvider:
    """The models one service process scores with, kept in step with the registry.

    :param registry: where the assignments and model files are.
    :param default: the model the process was started with; serves every site with no
        registered model assigned (and all of them while Redis is unreachable at start).
    :param poll_seconds: how often the background thread looks for a change.
    """

    def __init__(
        self, registry: ModelRegistry, default: Scorer, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.registry = registry
        self.default = default
        self.poll_seconds = poll_seconds
        self._by_site: dict[str, Scorer] = {}  # replaced whole, never mutated: readers need no lock
        self._assignments: dict[str, str] = {}
        self._failed: dict[str, str] = {}  # site (or ``*``) to the assigned version not loaded
        self._retries: dict[str, tuple[int, float]] = {}  # version to (failures, next try)
        self._lock = threading.Lock()
        self._poller_pid: int | None = None
        self._stop_polling = threading.Event()
        self._unreadable = False  # the last read of the assignments failed

    def scorer_for(self, site: str) -> Scorer:
        """The model that scores ``site`` now: its own, else the global one, else the default."""
        if self._poller_pid != os.getpid():
            self.start_polling()
        return self.scorer_now(site)

    def scorer_now(self, site: str) -> Scorer:
        """``scorer_for`` without starting this process's polling."""
        by_site = self._by_site
        return by_site.get(site) or by_site.get(EVERY_SITE) or self.default

    def start(self) -> None:
        """Load the current assignments now (tolerating an unreachable Redis).

        The polling thread starts in each worker as it boots (``start_process_work``), or with
        the first request a process serves: gunicorn builds the app in its master and forks, and
        a thread (or a lock it holds) must not cross a fork.
        """
        self.refresh()

    def failed_loads(self) -> dict[str, str]:
        """Site (or ``*``) to the version assigned to it that this process could not load."""
        return dict(self._failed)

    def refresh(self) -> bool:
        """Read the assignments and load any new model; True when what is served changed.

        A model that fails to load or verify is logged (at ERROR the first time) and skipped; the
        site keeps its model, and the load is tried again after a growing pause.
        """
        try:
            assignments = self.registry.assignments()
        except redis.exceptions.RedisError as error:
            # Once per outage, not once a poll per worker: the requests that fail say the rest.
            if not self._unreadable:
                logger.warning(
                    "cannot read model assignments, serving the models loaded: %s", error
                )
            self._unreadable = True
            return False
        if self._unreadable:
            logger.info("model assignments readable again")
            self._unreadable = False
        with self._lock:
            if assignments == self._assignments:
                return False
            loaded = {s.version: s for s in (self.default, *self._by_site.values())}
            by_site: dict[str, Scorer] = {}
            kept: dict[str, str] = {}
            failed: dict[str, str] = {}
            for site, version in assignments.items():
                serving = self.scorer_now(site).version
                scorer = loaded.get(version) or self._load(version, site, serving)
                if scorer is None:
                    failed[site] = version
                    old = self._by_site.get(site)
                    if old is not None:
                        by_site[site] = old
                        kept[site] = old.version
                    continue
                loaded[version] = scorer
                by_site[site] = scorer
                kept[site] = version
            self._by_site = by_site  # the one atomic swap requests observe
            self._failed = failed
            self._retries = {v: r for v, r in self._retries.items() if v in failed.values()}
            # A failed load is retried on the next poll: remember only what was applied.
            self._assignments = assignments if kept == assignments else kept
            return True

    def _load(self, version: str, site: str, serving: str) -> Scorer | None:
        """The registered model ``version``, or None when it fails to load or its retry is not
        due yet (``serving``: the version that scores ``site`` meanwhile, for the log)."""
        failures, next_try = self._retries.get(version, (0, 0.0))
        if time.monotonic() < next_try:
            return None
        try:
            scorer = self.registry.load(version)
        except LOAD_ERRORS as error:
            failures += 1
            pause = min(MAX_RETRY_SECONDS, RETRY_SECONDS * 2 ** (failures - 1))
            self._retries[version] = (failures, time.monotonic() + pause)
            log = logger.error if failures == 1 else logger.info
            log(
                "model %s for %s not loaded (%s); %s scores it meanwhile, next try in %.0fs",
                version,
                site,
                error,
                serving,
                pause,
            )
            return None
        self._retries.pop(version, None)
        logger.info("loaded model %s for %s", version, site)
        return scorer

    def start_polling(self) -> None:
        """Start this process's polling thread, once, after bringing its models up to date.

        A forked worker (gunicorn preloads the app) has no thread of its parent's, and starts
        with the models its parent loaded when the server started: without the refresh it would
        serve those, a model rolled back since included, until its first poll.
        """
        with self._lock:
            if self._poller_pid == os.getpid():
                return
            self._poller_pid = os.getpid()
            self._stop_polling = threading.Event()
        self.refresh()
        thread = threading.Thread(
            target=_poll,
            args=(weakref.ref(self), self.poll_seconds, self._stop_polling),
            name="modq-model-poller",
            daemon=True,
        )
        thread.start()

    def stop_polling(self) -> None:
        """End this process's polling thread at its next wake; the models loaded keep scoring."""
        self._stop_polling.set()


def _poll(
    provider_ref: Callable[[], ModelProvider | None], seconds: float, stop: threading.Event
) -> None:
    """Refresh until stopped, or until the provider is garbage (its app is gone)."""
    while not stop.wait(seconds):
        provider = provider_ref()
        if provider is None:
            return
        try:
            provider.refresh()
        except Exception:  # the poller must outlive any one bad poll
            logger.exception("model refresh failed")
        del provider
