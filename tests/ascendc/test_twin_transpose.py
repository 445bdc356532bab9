"""The twin's TransDataTo5HD (Atlas A2 / A3) in its three forms (lists of 16
LocalTensors, of 16 uint64_t addresses, and two LocalTensor<uint64_t> holding
the addresses): NCHW to NC1HWC0 in half (C0 16, the page's own example scaled
down), float (C0 16, two destination blocks a column) and int8_t (C0 32, the
low / high halves of both operands), single transposes of int32_t, uint8_t,
uint16_t and half (in place), repeatTimes 1 with strides (the blocks start a
stride past the addresses) and 0 (nothing written), all against numpy oracles
written here; the events of several calls worked out by hand; list buffers as
dependencies, the address forms fenced in the timeline; each misuse stops the
run (or the build) at its line, and a type the page does not list the build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at, write_source
from ubscope.probe.ascendc.build import CompileError
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
AN, AC, AH, AW = 2, 32, 4, 8  # half NCHW: two C1 groups of 16 channels, 32 pixels a plane
BC, BH, BW = 16, 2, 16  # float NCHW: one C1 group, 32 pixels a plane
CC, CH, CW = 32, 2, 32  # int8_t NCHW: one C1 group of 32 channels, 64 pixels a plane

# UB from 0 in InitBuffer order, every buffer whole 32 B blocks: xa 4096 B at
# 0, ya 4096 at 4096, xb 2048 at 8192, yb 2048 at 10240, xc 2048 at 12288,
# yc 2048 at 14336, xd 512 at 16384, yd 512 at 16896, xe 512 at 17408, ye 512
# at 17920, xf 576 at 18432, yf 608 at 19008, the address tensors fa 128 at
# 19616 and fs 128 at 19744, yg 512 at 19872, h 512 at 20384. Outputs that a
# call writes only in part (yd, yf, yg) are copied in from their initial
# contents first.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t AN = {AN}, AC = {AC}, AHW = {AH * AW};
constexpr int32_t BC = {BC}, BHW = {BH * BW};
constexpr int32_t CC = {CC}, CHW = {CH * CW};
extern "C" __global__ __aicore__ void tdt(GM_ADDR xa, GM_ADDR xb, GM_ADDR xc, GM_ADDR xd, GM_ADDR xe,
        GM_ADDR xf, GM_ADDR xh, GM_ADDR ya, GM_ADDR yb, GM_ADDR yc, GM_ADDR yd, GM_ADDR ye,
        GM_ADDR yf, GM_ADDR yg, GM_ADDR yh) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bxa, bya, bxb, byb, bxc, byc, bxd, byd, bxe, bye, bxf, byf, bfa, bfs, byg, bh;
    pipe.InitBuffer(bxa, AN * AC * AHW * 2);
    pipe.InitBuffer(bya, AN * AC * AHW * 2);
    pipe.InitBuffer(bxb, BC * BHW * 4);
    pipe.InitBuffer(byb, BC * BHW * 4);
    pipe.InitBuffer(bxc, CC * CHW);
    pipe.InitBuffer(byc, CC * CHW);
    pipe.InitBuffer(bxd, 512);
    pipe.InitBuffer(byd, 512);
    pipe.InitBuffer(bxe, 512);
    pipe.InitBuffer(bye, 512);
    pipe.InitBuffer(bxf, 18 * 32);
    pipe.InitBuffer(byf, 19 * 32);
    pipe.InitBuffer(bfa, 128);
    pipe.InitBuffer(bfs, 128);
    pipe.InitBuffer(byg, 512);
    pipe.InitBuffer(bh, 512);
    GlobalTensor<half> xaGm, yaGm, xhGm, yhGm;
    GlobalTensor<float> xbGm, ybGm;
    GlobalTensor<int8_t> xcGm, ycGm;
    GlobalTensor<uint8_t> xdGm, ydGm;
    GlobalTensor<int32_t> xeGm, yeGm, ygGm;
    GlobalTensor<uint16_t> xfGm, yfGm;
    xaGm.SetGlobalBuffer((__gm__ half*)xa, AN * AC * AHW);
    yaGm.SetGlobalBuffer((__gm__ half*)ya, AN * AC * AHW);
    xbGm.SetGlobalBuffer((__gm__ float*)xb, BC * BHW);
    ybGm.SetGlobalBuffer((__gm__ float*)yb, BC * BHW);
    xcGm.SetGlobalBuffer((__gm__ int8_t*)xc, CC * CHW);
    ycGm.SetGlobalBuffer((__gm__ int8_t*)yc, CC * CHW);
    xdGm.SetGlobalBuffer((__gm__ uint8_t*)xd, 512);
    ydGm.SetGlobalBuffer((__gm__ uint8_t*)yd, 512);
    xeGm.SetGlobalBuffer((__gm__ int32_t*)xe, 128);
    yeGm.SetGlobalBuffer((__gm__ int32_t*)ye, 128);
    ygGm.SetGlobalBuffer((__gm__ int32_t*)yg, 128);
    xfGm.SetGlobalBuffer((__gm__ uint16_t*)xf, 18 * 16);
    yfGm.SetGlobalBuffer((__gm__ uint16_t*)yf, 19 * 16);
    xhGm.SetGlobalBuffer((__gm__ half*)xh, 256);
    yhGm.SetGlobalBuffer((__gm__ half*)yh, 256);
    LocalTensor<half> xa_ = bxa.Get<half>(), ya_ = bya.Get<half>(), h = bh.Get<half>();
    LocalTensor<float> xb_ = bxb.Get<float>(), yb_ = byb.Get<float>();
    LocalTensor<int8_t> xc_ = bxc.Get<int8_t>(), yc_ = byc.Get<int8_t>();
    LocalTensor<uint8_t> xd_ = bxd.Get<uint8_t>(), yd_ = byd.Get<uint8_t>();
    LocalTensor<int32_t> xe_ = bxe.Get<int32_t>(), ye_ = bye.Get<int32_t>(), yg_ = byg.Get<int32_t>();
    LocalTensor<uint16_t> xf_ = bxf.Get<uint16_t>(), yf_ = byf.Get<uint16_t>();
    LocalTensor<uint64_t> fa = bfa.Get<uint64_t>(), fs = bfs.Get<uint64_t>();
    DataCopy(xa_, xaGm, AN * AC * AHW);
    DataCopy(xb_, xbGm, BC * BHW);
    DataCopy(xc_, xcGm, CC * CHW);
    DataCopy(xd_, xdGm, 512);
    DataCopy(yd_, ydGm, 512);
    DataCopy(xe_, xeGm, 128);
    DataCopy(xf_, xfGm, 18 * 16);
    DataCopy(yf_, yfGm, 19 * 16);
    DataCopy(yg_, ygGm, 128);
    DataCopy(h, xhGm, 256);

    // half, NCHW -> NC1HWC0 (C0 16) as the page's example: srcList the 16
    // planes of a C1 group, dstList the 16 consecutive C0 blocks; a repeat
    // does 16 pixels: the next block of each plane, 16 blocks on in dst.
    TransDataTo5HDParams pa;
    pa.repeatTimes = AHW / 16;
    pa.dstRepStride = 16;
    pa.srcRepStride = 1;
    for (int32_t n = 0; n < AN; ++n) {{
        for (int32_t c1 = 0; c1 < AC / 16; ++c1) {{
            uint64_t dstAddr[NCHW_CONV_ADDR_LIST_SIZE], srcAddr[NCHW_CONV_ADDR_LIST_SIZE];
            for (int32_t i = 0; i < 16; ++i) {{
                dstAddr[i] = (uint64_t)ya_[((n * (AC / 16) + c1) * AHW + i) * 16].GetPhyAddr();
                srcAddr[i] = (uint64_t)xa_[(n * AC + c1 * 16 + i) * AHW].GetPhyAddr();
            }}
            TransDataTo5HD<half>(dstAddr, srcAddr, pa);  // half-5hd
        }}
    }}

    // float, C0 16: a repeat does 8 pixels, each pixel's 16 channels two
    // destination blocks, dstList[2c] and dstList[2c + 1].
    LocalTensor<float> bd[16], bs[16];
    for (int32_t i = 0; i < 16; ++i) {{
        bs[i] = xb_[i * BHW];
        bd[i] = yb_[i * 8];
    }}
    TransDataTo5HD(bd, bs, TransDataTo5HDParams(false, false, BHW / 8, 16, 1));  // float-5hd

    // int8_t, C0 32: four calls, channels 16g .. 16g + 15 into the low (g 0)
    // or high (g 1) half of each C0 block, pixels 16s .. 16s + 15 of each
    // source block from its low (s 0) or high (s 1) half.
    LocalTensor<int8_t> cd[16], cs[16];
    for (int32_t g = 0; g < 2; ++g) {{
        for (int32_t s = 0; s < 2; ++s) {{
            for (int32_t i = 0; i < 16; ++i) {{
                cs[i] = xc_[(g * 16 + i) * CHW];
                cd[i] = yc_[(s * 16 + i) * 32];
            }}
            TransDataTo5HD(cd, cs, TransDataTo5HDParams(g == 1, s == 1, CHW / 32, 32, 1));  // int8-5hd
        }}
    }}

    // uint8_t, one 16 x 16 transpose from the sources' high halves into the
    // destinations' low halves; their high halves keep their bytes.
    LocalTensor<uint8_t> dd[16], ds[16];
    for (int32_t i = 0; i < 16; ++i) {{
        ds[i] = xd_[i * 32];
        dd[i] = yd_[i * 32];
    }}
    TransDataTo5HDParams pd;
    pd.srcHighHalf = true;
    pd.repeatTimes = 1;
    TransDataTo5HD<uint8_t>(dd, ds, pd);  // uint8-high

    // int32_t, the page's 16 x 8 transpose; the half flags are ignored.
    LocalTensor<int32_t> ed[16], es[16], gd[16];
    for (int32_t i = 0; i < 16; ++i) {{
        es[i] = xe_[i * 8];
        ed[i] = ye_[i * 8];
        gd[i] = yg_[i * 8];
    }}
    TransDataTo5HD(ed, es, TransDataTo5HDParams(true, true, 1, 0, 0));  // int32-list
    TransDataTo5HD(gd, es, TransDataTo5HDParams(false, false, 0, 0, 0));  // zero-repeats

    // uint16_t through address tensors; one repeat with strides: the blocks
    // start 2 blocks past the sources and 3 past the destinations.
    for (int32_t i = 0; i < 16; ++i) {{
        fa.SetValue(i, (uint64_t)yf_[i * 16].GetPhyAddr());
        fs.SetValue(i, (uint64_t)xf_[i * 16].GetPhyAddr());
    }}
    TransDataTo5HD<uint16_t>(fa, fs, TransDataTo5HDParams(false, false, 1, 3, 2));  // u16-tensors

    // half, a 16 x 16 transpose in place: both lists name the same 16 blocks.
    LocalTensor<half> hl[16];
    for (int32_t i = 0; i < 16; ++i) {{
        hl[i] = h[i * 16];
    }}
    TransDataTo5HD(hl, hl, TransDataTo5HDParams(false, false, 1, 0, 0));  // in-place

    DataCopy(yaGm, ya_, AN * AC * AHW);
    DataCopy(ybGm, yb_, BC * BHW);
    DataCopy(ycGm, yc_, CC * CHW);
    DataCopy(ydGm, yd_, 512);
    DataCopy(yeGm, ye_, 128);
    DataCopy(yfGm, yf_, 19 * 16);
    DataCopy(ygGm, yg_, 128);
    DataCopy(yhGm, h, 256);
}}
"""


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    # uint8_t: each half of the 16 blocks a permutation of 0..255
    halves = [rng.permutation(256).reshape(16, 16) for _ in range(2)]
    return {
        # distinct values (but int8_t's), so an element taken from the wrong
        # place shows
        "xa": (np.arange(AN * AC * AH * AW) - 1024).astype(np.float16),
        "xb": rng.permutation(BC * BH * BW).astype(np.float32) * np.float32(0.5) - 7,
        "xc": rng.integers(-128, 128, CC * CH * CW).astype(np.int8),
        "xd": np.concatenate(halves, axis=1).reshape(-1).astype(np.uint8),
        "xe": (np.arange(128) * 3 - 100).astype(np.int32),
        "xf": rng.permutation(18 * 16).astype(np.uint16) + np.uint16(1000),
        "xh": (np.arange(256) - 128).astype(np.float16),
    }


def _outputs() -> dict[str, np.ndarray]:
    return {
        "ya": np.zeros(AN * AC * AH * AW, np.float16),
        "yb": np.zeros(BC * BH * BW, np.float32),
        "yc": np.zeros(CC * CH * CW, np.int8),
        "yd": np.full(512, 0xA5, np.uint8),
        "ye": np.zeros(128, np.int32),
        "yf": np.arange(19 * 16, dtype=np.uint16) + np.uint16(50000),
        "yg": np.full(128, -9, np.int32),
        "yh": np.zeros(256, np.float16),
    }


@pytest.fixture(scope="module")
def transpose_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("transpose")
    source = folder / "tdt.cpp"
    source.write_text(KERNEL)
    trace = folder / "tdt.ubtrace"
    done = run_ascendc(source, "tdt", 1, _inputs(), _outputs(), CHIP, trace)
    return _inputs(), done.outputs, read_trace(trace).events


def nc1hwc0(x: np.ndarray, n: int, c: int, h: int, w: int, c0: int) -> np.ndarray:
    """NCHW to NC1HWC0, as the page draws it: the channels cut into C1 groups
    of C0, a group's C0 values of each pixel side by side."""
    return x.reshape(n, c // c0, c0, h, w).transpose(0, 1, 3, 4, 2).reshape(-1)


def test_half_nchw_to_nc1hwc0_with_address_lists(transpose_run) -> None:
    inputs, out, _ = transpose_run
    expected = nc1hwc0(inputs["xa"], AN, AC, AH, AW, 16)
    np.testing.assert_array_equal(out["ya"].view(np.uint16), expected.view(np.uint16))


def test_float_nchw_to_nc1hwc0_two_blocks_a_column(transpose_run) -> None:
    inputs, out, _ = transpose_run
    np.testing.assert_array_equal(out["yb"], nc1hwc0(inputs["xb"], 1, BC, BH, BW, 16))


def test_int8_nchw_to_nc1hwc0_by_halves(transpose_run) -> None:
    inputs, out, _ = transpose_run
    np.testing.assert_array_equal(out["yc"], nc1hwc0(inputs["xc"], 1, CC, CH, CW, 32))


def test_uint8_high_half_into_low_half_keeps_the_rest(transpose_run) -> None:
    inputs, out, _ = transpose_run
    # 16 source blocks of 32 bytes: srcHighHalf takes bytes 16-31 of each, a
    # 16 x 16 matrix whose transpose lands in bytes 0-15 of the 16 destination
    # blocks (dstHighHalf false); bytes 16-31 keep their 0xA5.
    src = inputs["xd"].reshape(16, 32)
    expected = np.full((16, 32), 0xA5, np.uint8)
    expected[:, :16] = src[:, 16:].T
    np.testing.assert_array_equal(out["yd"].reshape(16, 32), expected)


def test_int32_transpose_ignores_the_half_flags(transpose_run) -> None:
    inputs, out, _ = transpose_run
    # The page's example: 16 blocks of 8 values in, their 8 columns out, each
    # column's 16 values two blocks (dstHighHalf / srcHighHalf true change
    # nothing for 32-bit types).
    np.testing.assert_array_equal(out["ye"], inputs["xe"].reshape(16, 8).T.reshape(-1))


def test_zero_repeats_write_nothing(transpose_run) -> None:
    _, out, events = transpose_run
    np.testing.assert_array_equal(out["yg"], _outputs()["yg"])
    (zero,) = _call(events, "// zero-repeats")
    # yg at 19872, xe at 17408: no block moved, 0 B and no elements
    assert (zero.addr, zero.src_addr) == (19872, 17408)
    assert (zero.aligned_size, zero.size, zero.arg) == (0, 0, 0)


def test_in_place_reads_every_block_before_writing(transpose_run) -> None:
    inputs, out, events = transpose_run
    expected = inputs["xh"].reshape(16, 16).T.reshape(-1)
    np.testing.assert_array_equal(out["yh"].view(np.uint16), expected.view(np.uint16))
    (in_place,) = _call(events, "// in-place")
    # the source is the destination, not a partial overlap
    assert (in_place.addr, in_place.src_addr) == (20384, 20384)
    assert not in_place.flags & Flag.PARTIAL_OVERLAP


def test_one_repeat_starts_a_stride_past_the_addresses(transpose_run) -> None:
    inputs, out, _ = transpose_run
    # Addresses at blocks 0..15 of each tensor; repeatTimes 1 with strides 2
    # and 3 reads blocks 2..17 of xf and writes blocks 3..18 of yf: blocks
    # 0..2 keep their initial values.
    expected = _outputs()["yf"].reshape(19, 16).copy()
    expected[3:19] = inputs["xf"].reshape(18, 16)[2:18].T
    np.testing.assert_array_equal(out["yf"].reshape(19, 16), expected)


def _call(events, marker: str):
    return events[(events.tag == f"tdt.cpp:{line_of(KERNEL, marker)}")].itertuples()


def test_transpose_events_by_hand(transpose_run) -> None:
    *_, events = transpose_run
    (int32,) = _call(events, "// int32-list")
    # xe at 17408, ye at 17920 (see KERNEL): 16 blocks of 32 B read, 16
    # written, both contiguous: 512 B each; 16 x 8 = 128 elements moved, one
    # operation each; one source.
    assert (int32.name, int32.space) == ("TransDataTo5HD", "UB")
    assert (int32.addr, int32.src_addr) == (17920, 17408)
    assert (int32.aligned_size, int32.size, int32.arg) == (512, 1024, 128)
    assert not int32.flags & (Flag.SECOND_SOURCE | Flag.MISALIGNED | Flag.PARTIAL_OVERLAP)
    (uint8,) = _call(events, "// uint8-high")
    # xd at 16384, yd at 16896: half of each block is read and written, the
    # spans are the whole blocks (512 B each); 16 x 16 bytes moved.
    assert (uint8.addr, uint8.src_addr) == (16896, 16384)
    assert (uint8.aligned_size, uint8.size, uint8.arg) == (512, 1024, 256)
    (tensors,) = _call(events, "// u16-tensors")
    # xf at 18432 read from 2 blocks on (18496), yf at 19008 written from 3
    # blocks on (19104), 512 B each; then the address tensors fa (19616) and
    # fs (19744), 128 B each: 512 + 512 + 2 x 128 B; 256 elements.
    assert (tensors.addr, tensors.src_addr) == (19104, 18496)
    assert (tensors.arg2, tensors.burst_len) == (19616, 19744)
    assert (tensors.aligned_size, tensors.size, tensors.arg) == (512, 512 + 512 + 256, 256)
    assert tensors.flags & Flag.SECOND_SOURCE and tensors.flags & Flag.THIRD_SOURCE
    # Each of the four half calls: 2 repeats of 16 blocks read (one per
    # plane, the planes 64 B apart: the span from the first block of plane 0
    # to the last of plane 15 is 15 x 64 + 64 B) and 32 consecutive blocks
    # written (1024 B); 2 x 256 elements.
    half_calls = list(_call(events, "// half-5hd"))
    assert [c.addr for c in half_calls] == [4096, 4096 + 1024, 4096 + 2048, 4096 + 3072]
    assert [c.src_addr for c in half_calls] == [0, 1024, 2048, 3072]
    assert {(c.aligned_size, c.size, c.arg) for c in half_calls} == {(1024, 1024 + 1024, 512)}


TIMING_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void fence(GM_ADDR x) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> ba, bb, bc, bd;
    pipe.InitBuffer(ba, 512);
    pipe.InitBuffer(bb, 512);
    pipe.InitBuffer(bc, 8192);
    pipe.InitBuffer(bd, 8192);
    GlobalTensor<half> xGm;
    xGm.SetGlobalBuffer((__gm__ half*)x, 4096);
    LocalTensor<half> a = ba.Get<half>(), b = bb.Get<half>(), c = bc.Get<half>(), d = bd.Get<half>();
    LocalTensor<half> dl[16], sl[16], two[16];
    uint64_t da[16], sa[16];
    for (int32_t i = 0; i < 16; ++i) {
        sl[i] = a[i * 16];
        dl[i] = b[i * 16];
        two[i] = i < 8 ? a[i * 16] : c[(i - 8) * 16];
        sa[i] = (uint64_t)a[i * 16].GetPhyAddr();
        da[i] = (uint64_t)b[i * 16].GetPhyAddr();
    }
    DataCopy(a, xGm, 256);
    TransDataTo5HD(dl, sl, TransDataTo5HDParams(false, false, 1, 0, 0));  // list-call
    DataCopy(c, xGm, 4096);  // copy-after-list
    TransDataTo5HD<half>(da, sa, TransDataTo5HDParams(false, false, 1, 0, 0));  // address-call
    DataCopy(d, xGm, 4096);  // copy-after-address
    TransDataTo5HD(dl, two, TransDataTo5HDParams(false, false, 1, 0, 0));  // two-buffers
}
"""


def test_list_buffers_are_dependencies_and_address_forms_fenced(tmp_path: Path) -> None:
    source = write_source(tmp_path, "fence.cpp", TIMING_KERNEL)
    trace = tmp_path / "fence.ubtrace"
    run_ascendc(source, "fence", 1, {"x": np.zeros(4096, np.float16)}, {}, CHIP, trace)
    events = read_trace(trace).events

    def one(marker: str):
        (event,) = events[events.tag == f"fence.cpp:{line_of(TIMING_KERNEL, marker)}"].itertuples()
        return event

    listed, after_list = one("// list-call"), one("// copy-after-list")
    addressed, after_address = one("// address-call"), one("// copy-after-address")
    # The list form knows its buffers: the unrelated copy into c need not wait
    # for it. The address form does not: it waits for that copy (a fence), and
    # the next copy waits for it.
    assert after_list.start_ps < listed.start_ps + listed.dur_ps
    assert addressed.start_ps >= after_list.start_ps + after_list.dur_ps
    assert after_address.start_ps >= addressed.start_ps + addressed.dur_ps
    # Sources in two buffers, a (at 0) and c (at 1024), 8 blocks of each: two
    # sources of 256 B, one a buffer; b (at 512) written, 512 B.
    two = one("// two-buffers")
    assert (two.addr, two.src_addr, two.arg2) == (512, 0, 1024)
    assert (two.aligned_size, two.size) == (512, 512 + 256 + 256)
    assert two.flags & Flag.SECOND_SOURCE and not two.flags & Flag.THIRD_SOURCE


MISUSE_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void bad(GM_ADDR x) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> ba, bb, bt;
    pipe.InitBuffer(ba, 1024);
    pipe.InitBuffer(bb, 1024);
    pipe.InitBuffer(bt, 128);
    LocalTensor<half> a = ba.Get<half>(), b = bb.Get<half>();
    LocalTensor<half> dl[16], sl[16];
    uint64_t da[16], sa[16];
    for (int32_t i = 0; i < 16; ++i) {
        sl[i] = a[i * 16];
        dl[i] = b[i * 16];
        sa[i] = (uint64_t)a[i * 16].GetPhyAddr();
        da[i] = (uint64_t)b[i * 16].GetPhyAddr();
    }
    TransDataTo5HDParams p(false, false, 1, 0, 0);
#ifdef T5_BAD_REPEAT
    p.repeatTimes = 256;
    TransDataTo5HD(dl, sl, p);  // bad-repeat
#endif
#ifdef T5_MISALIGNED
    dl[3] = b[3 * 16 + 8];
    TransDataTo5HD(dl, sl, p);  // misaligned
#endif
#ifdef T5_BEYOND
    sa[5] = 0x100000;
    TransDataTo5HD<half>(da, sa, p);  // beyond
#endif
#ifdef T5_NOT_UB
    sl[7] = LocalTensor<half>();
    TransDataTo5HD(dl, sl, p);  // not-ub
#endif
#ifdef T5_FEW_ADDRESSES
    LocalTensor<uint64_t> t = bt.Get<uint64_t>(8);
    TransDataTo5HD<half>(t, t, p);  // few-addresses
#endif
#ifdef T5_FAR_REPEATS
    TransDataTo5HD(dl, sl, TransDataTo5HDParams(false, false, 255, 255, 1));  // far-repeats
#endif
}
"""


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        ("T5_BAD_REPEAT", "// bad-repeat", "TransDataTo5HD: repeatTime 256 outside 0..255"),
        (
            "T5_MISALIGNED",
            "// misaligned",
            # b at 1024; element 3 x 16 + 8 of half is 112 B in: 0x470
            "TransDataTo5HD: dstList[3] at UB 0x470 is not 32 B aligned "
            "(the page asks each address to start a 32 B block)",
        ),
        (
            "T5_BEYOND",
            "// beyond",
            "TransDataTo5HD: srcList[5] at UB 0x100000: its blocks reach 0x100020, "
            "beyond UB and its red zone",
        ),
        (
            "T5_NOT_UB",
            "// not-ub",
            "TransDataTo5HD: srcList[7] is not a UB tensor "
            "(the page takes VECIN, VECCALC or VECOUT tensors)",
        ),
        (
            "T5_FEW_ADDRESSES",
            "// few-addresses",
            "TransDataTo5HD: dst holds 8 addresses, fewer than the 16 "
            "(NCHW_CONV_ADDR_LIST_SIZE) the call reads",
        ),
        (
            "T5_FAR_REPEATS",
            "// far-repeats",
            # dstList[0] at 1024: 254 repeats x 255 blocks x 32 B on, plus its block
            f"TransDataTo5HD: dstList[0] at UB 0x400: its blocks reach "
            f"{hex(1024 + 254 * 255 * 32 + 32)}, beyond UB and its red zone",
        ),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    source = write_source(tmp_path, "bad.cpp", MISUSE_KERNEL)
    with stops_at("bad.cpp", MISUSE_KERNEL, marker, problem):
        run_ascendc(source, "bad", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP, defines=(define,))


@pytest.mark.parametrize(
    ("lists", "call"),
    [
        ("LocalTensor<float> d[8], s[8];", "TransDataTo5HD(d, s, p);"),
        ("uint64_t d[8] = {}, s[8] = {};", "TransDataTo5HD<float>(d, s, p);"),
    ],
)
def test_a_list_of_another_length_stops_the_build(tmp_path: Path, lists: str, call: str) -> None:
    source = write_source(
        tmp_path,
        "short.cpp",
        f"""\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void short_list(GM_ADDR x) {{
            {lists} TransDataTo5HDParams p;
            {call}
        }}
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "short_list", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{source}:5:")
    assert "AscendC::TransDataTo5HD takes lists of NCHW_CONV_ADDR_LIST_SIZE (16)" in first


def test_a_type_the_page_does_not_list_stops_the_build(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "bf16.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void bf16(GM_ADDR x) {
            LocalTensor<bfloat16_t> d[16], s[16];
            TransDataTo5HD(d, s, TransDataTo5HDParams(false, false, 1, 0, 0));
        }
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "bf16", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    # bfloat16_t is the 950's only: not listed for Atlas A2 / A3
    listed = "int8_t, uint8_t, int16_t, uint16_t, half, int32_t, uint32_t or float"
    assert f"TransDataTo5HD takes {listed}" in str(caught.value)
