//! Test fixture: a component of the wrong world, which the host must refuse.

fn main() {
    println!("hello");
}
