//! Mapping a k-way partition onto the board (being written).
