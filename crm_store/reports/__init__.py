"""Reports over stored work: the monthly roll-up of calls per unit (`rollup`, tables in `tables`), the hot-spot test
on topic shares (`hot_spots`) and the monthly customer-center report read from the roll-up (`monthly`)."""
