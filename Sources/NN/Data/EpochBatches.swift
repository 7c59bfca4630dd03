import Dispatch
import FlockCore
import Synchronization

// Background prefetch: one producer thread per epoch builds batches in order
// into a bounded FIFO of `prefetch` slots while the training loop consumes
// them. A batch depends only on (epoch order, batch index) and is a plain
// byte copy, so the batches are exactly those built without prefetching and
// their order is fixed: determinism does not depend on timing. Abandoning the
// iteration (break) cancels the producer, which never blocks forever.

/// The batches of one epoch (``DataLoader/epoch(_:)``): a `Sequence` to iterate once.
public struct EpochBatches: Sequence, Sendable {
    let loader: DataLoader
    let order: [Int]

    /// The number of batches.
    public var count: Int { loader.batchesPerEpoch }

    /// Starts the epoch (and its prefetch thread, if any).
    public func makeIterator() -> Iterator {
        Iterator(loader: loader, order: order)
    }

    /// Yields the batches in order, from the prefetch queue when there is one.
    public struct Iterator: IteratorProtocol {
        private let loader: DataLoader
        private let order: [Int]
        private var position = 0
        private let producer: Producer?

        init(loader: DataLoader, order: [Int]) {
            self.loader = loader
            self.order = order
            producer = loader.prefetch > 0 && loader.batchesPerEpoch > 0 ? Producer(loader: loader, order: order) : nil
        }

        /// The next batch, or `nil` after the last.
        public mutating func next() -> Batch? {
            guard position < loader.batchesPerEpoch else { return nil }
            defer { position += 1 }
            if let producer { return producer.take() }
            return loader.batch(position, order: order)
        }
    }
}

/// The producer thread's handle; dropping it (with the iterator) cancels the thread.
private final class Producer: Sendable {
    private let shared: PrefetchQueue

    init(loader: DataLoader, order: [Int]) {
        let shared = PrefetchQueue(slots: loader.prefetch)
        self.shared = shared
        let count = loader.batchesPerEpoch
        // The thread holds only the queue, not this handle, so the handle's deinit can stop it.
        DispatchQueue(label: "flock.prefetch").async {
            for index in 0..<count {
                shared.free.wait()
                if shared.cancelled.load(ordering: .acquiring) { return }
                let batch = loader.batch(index, order: order)
                shared.items.withLock { $0.append(batch) }
                shared.filled.signal()
            }
        }
    }

    /// The next batch, waiting for the producer if it is behind.
    func take() -> Batch {
        shared.filled.wait()
        let batch = shared.items.withLock { $0.removeFirst() }
        shared.free.signal()
        return batch
    }

    deinit {
        shared.cancelled.store(true, ordering: .releasing)
        shared.free.signal()
    }
}

/// A bounded FIFO: `free` counts empty slots, `filled` ready batches.
private final class PrefetchQueue: Sendable {
    let free = DispatchSemaphore(value: 0)
    let filled = DispatchSemaphore(value: 0)
    let items = Mutex<[Batch]>([])
    let cancelled = Atomic<Bool>(false)

    init(slots: Int) {
        // libdispatch traps when a semaphore is freed below its initial value,
        // so both start at 0 and the free slots are signalled in.
        for _ in 0..<slots { free.signal() }
    }
}
