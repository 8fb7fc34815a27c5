// Builds the one C file: long double arithmetic for INCRBYFLOAT (see csrc/longdouble.c for why).
fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new().file("csrc/longdouble.c").opt_level(2).compile("strata_longdouble");
}
