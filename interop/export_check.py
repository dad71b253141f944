"""The independent readers of `orderwire export`'s files (issue 25).

    export_check.py parquet DIR EXPECTED.json
        pyarrow reads the Hive-partitioned dataset: the row count, the
        column types, and every price and quantity equal, exactly, to the
        decimal orderwire decoded (EXPECTED.json lists them as text).
    export_check.py hftbacktest FILE.npz EXPECTED.json
        hftbacktest loads the file, checks its event order, and runs a few
        steps of a backtest over it; prints the best bid and ask seen.

Prints one JSON object; exits non-zero when a check fails.
"""
import json
import sys
from decimal import Decimal


def norm(value):
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def parquet(directory, expected):
    import pyarrow as pa
    import pyarrow.dataset as ds

    table = ds.dataset(directory, format="parquet", partitioning="hive").to_table()
    schema = table.schema
    assert table.num_rows == expected["rows"], (table.num_rows, expected["rows"])
    for name in ("price", "qty"):
        assert pa.types.is_decimal128(schema.field(name).type), schema.field(name).type
    assert schema.field("ts_recv").type == pa.int64()
    assert schema.field("ts_event").type == pa.int64()
    got = sorted(
        (row["kind"], row["side"] or "", norm(row["price"]), norm(row["qty"]), row["symbol"])
        for row in table.select(["kind", "side", "price", "qty", "symbol"]).to_pylist()
    )
    want = sorted(
        (row[0], row[1], norm(row[2] or None), norm(row[3] or None), row[4])
        for row in expected["values"]
    )
    assert got == want, [pair for pair in zip(got, want) if pair[0] != pair[1]][:3]
    return {
        "rows": table.num_rows,
        "price": str(schema.field("price").type),
        "qty": str(schema.field("qty").type),
        "venues": sorted(set(table.column("venue").to_pylist())),
        "symbols": sorted(set(table.column("symbol").to_pylist())),
    }


def hftbacktest(path, expected):
    import numpy as np
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    from hftbacktest.data import validate_event_order

    data = np.load(path)["data"]
    assert data.dtype.itemsize == 64, data.dtype
    assert len(data) == expected["events"], (len(data), expected["events"])
    validate_event_order(data)
    asset = (
        BacktestAsset()
        .data([path])
        .linear_asset(1.0)
        .constant_order_latency(10_000, 10_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(expected["tick_size"])
        .lot_size(expected["lot_size"])
    )
    hbt = HashMapMarketDepthBacktest([asset])
    steps = []
    for _ in range(expected.get("steps", 5)):
        status = hbt.elapse(expected.get("step_ns", 1_000_000))
        depth = hbt.depth(0)
        # An empty side is NaN, which JSON cannot hold: null.
        bid, ask = float(depth.best_bid), float(depth.best_ask)
        steps.append([int(hbt.current_timestamp), None if bid != bid else bid, None if ask != ask else ask])
        if status != 0:
            break
    assert hbt.close() == 0
    return {"events": int(len(data)), "steps": steps}


def main():
    mode, target, expected_path = sys.argv[1:4]
    with open(expected_path) as f:
        expected = json.load(f)
    result = parquet(target, expected) if mode == "parquet" else hftbacktest(target, expected)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
