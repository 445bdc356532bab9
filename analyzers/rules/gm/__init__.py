"""GM traffic rules (GM001-GM004): redundant reloads, traffic above the kernel's
minimum, the roofline position and accesses outside a tensor."""
