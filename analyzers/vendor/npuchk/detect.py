"""Which paths are npuchk output: the ``npuchk`` folder or a folder of
``*_npuchk.log`` files, and text logs named so or holding its error lines."""

from __future__ import annotations

from ubscope.analyzers.vendor.npuchk.reader import is_npuchk_dir, is_npuchk_log
from ubscope.analyzers.vendor.tool import Candidate


def is_npuchk_output(candidate: Candidate) -> bool:
    if candidate.is_dir:
        return is_npuchk_dir(candidate.path)
    return candidate.is_text_log and is_npuchk_log(candidate.path, candidate.head)
