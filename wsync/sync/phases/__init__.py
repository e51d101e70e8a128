"""The phases of an import, in the order the engine (wsync.sync.engine) runs them, one module each:

- `products`: plan the feed's products, push them in batches, record each answer (and adopt a
  product that already holds a SKU a create was refused for);
- `variations`: each saved variable product's variations, one parent at a time;
- `links`: grouped members, upsells and cross-sells, once every product has its id;
- `missing`: products that left the feed (`--missing`);
- `images`: the image phase (wsync.sync.images) wired to the run.

Each takes the run (`wsync.sync.run.ImportRun`) and works through `plan(run, ...)` ->
`push(run, ...)`, recording every answered batch before the next is looked at.
"""
