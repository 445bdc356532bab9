"""Small CPU-debug and npuchk logs written for the tests, shaped like the
examples in Huawei's documentation (the Ascend C FAQ "AllocTensor/FreeTensor
fails during verification" and asc-tools docs/02_npu_check.md)."""

CANN = "/usr/local/Ascend/cann/x86_64-linux/tikcpp/tikcfw"

CPU_DEBUG_QUEUE = (
    "add: start\n"
    f"[ERROR][Block_2][AIV_1][{CANN}/interface/kernel_tpipe.h:730][AllocEventID][321678] "
    "current size is 4, max buffer number in same queue position is 4\n"
    "[ERROR][CORE_2][pid 321674] error happened! =========\n"
    "SIGABRT Signal (Abort Signal from abort) catched, backtrace info:\n"
    "[#0] 0x000000000001e7c0: handler(int) at "
    "/usr/local/Ascend/cann/tools/tikicpulib/lib/include/kern_fwk.h:105\n"
    "[#1] 0x0000000000017c4f: signed char AscendC::TPipe::AllocEventID<(AscendC::HardEvent)5>() "
    f"at {CANN}/interface/kernel_tpipe.h:733\n"
    "[#2] 0x000000000001426d: AscendC::TQueBind<(AscendC::TPosition)0, (AscendC::TPosition)9, "
    f"4, 0>::FreeBuffer(unsigned char*) at {CANN}/interface/kernel_tpipe.h:912\n"
    "[#3] 0x0000000000011111: KernelAdd::CopyIn(int) at /home/dev/add/add_custom.cpp:45\n"
    "[#4] 0x0000000000012222: KernelAdd::Process() at /home/dev/add/add_custom.cpp:30\n"
    "[#5] 0x0000000000000000: ?? ??:0\n"
)

NPUCHK_LOG = (
    "### copy_gm_to_ubuf((__ubuf__ half*)0x7f328c11b010, (__gm__ half*)0x5600, 0, 1, 64, 0, 0);\n"
    "### vadd((__ubuf__ half*)0x7f328c11b810, (__ubuf__ half*)0x7f328c11b010, "
    "(__ubuf__ half*)0x7f328c11b410, (uint8_t)1, (uint8_t)1, (uint8_t)1, (uint8_t)1, "
    "(uint8_t)8, (uint8_t)8, (uint8_t)8);\n"
    "[V] [ErrorRead3] on read 0x7f328c11b010 0x800B\n"
    "########## BackTrace ##########\n"
    "  /usr/local/Ascend/cann/tools/tikicpulib/lib/libnpuchk.so(_ZN6npuchk4PostEv+0x45) "
    "[0x7f3200001045]\n"
    "  ./add(_ZN9KernelAdd7ComputeEi+0x1a4) [0x55d1c0a04a3f]\n"
    "  ./add(main+0x88) [0x55d1c0a01088]\n"
)
