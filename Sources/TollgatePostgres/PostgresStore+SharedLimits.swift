import Foundation
import PostgresNIO
import TollgateCluster
import TollgateLimits

/// The cluster's limit counters. A pull is one statement (an upsert whose `WHERE` is the limit);
/// what spans rows (several windows, a transfer's slot and bytes) is one transaction holding the
/// subject's advisory lock.
extension PostgresStore: SharedLimitStore {
    /// `pg_advisory_xact_lock(hashtext(subject), limitLockSpace)`: one multi-row change per subject at a time.
    static let limitLockSpace: Int32 = 0x4C49_4D54  // "LIMT"

    public func charge(subject: String, windows: [SharedWindow], amount: Int64) async throws -> SharedChargeOutcome {
        if windows.count == 1, let w = windows.first {
            if let used = try await Self.add(client, subject, w, amount, logger) { return .counted([used]) }
            let stored = try await self.windows(subject: subject)
            return .refused(index: 0, used: w.count(in: stored))
        }
        return try await client.withTransaction(logger: logger) { [logger] c in
            try await Self.lock(c, subject, logger)
            let stored = try await Self.windows(c, subject, logger)
            for (i, w) in windows.enumerated() {
                guard let max = w.limit else { continue }
                let used = w.count(in: stored)
                if used >= max || used + amount > max { return .refused(index: i, used: used) }
            }
            var after: [Int64] = []
            for w in windows { after.append(try await Self.add(c, subject, w.unlimited, amount, logger) ?? 0) }
            return .counted(after)
        }
    }

    /// One statement: the row's `last_grant` says how many of `want` this statement added.
    public func chargeUpTo(subject: String, window w: SharedWindow, want: Int64) async throws -> (granted: Int64, used: Int64) {
        let limit = w.limit ?? Int64.max
        var result: (Int64, Int64) = (0, 0)
        for try await (used, granted) in try await client.query(
            """
            INSERT INTO limit_windows AS w (subject, kind, start, used, last_grant)
            VALUES (\(subject), \(w.kind), \(w.start), LEAST(\(want), GREATEST(0, \(limit))), LEAST(\(want), GREATEST(0, \(limit))))
            ON CONFLICT (subject, kind) DO UPDATE SET
                last_grant = LEAST(\(want), GREATEST(0, \(limit) - (CASE WHEN excluded.start > w.start THEN 0 ELSE w.used END))),
                used = (CASE WHEN excluded.start > w.start THEN 0 ELSE w.used END)
                    + LEAST(\(want), GREATEST(0, \(limit) - (CASE WHEN excluded.start > w.start THEN 0 ELSE w.used END))),
                start = GREATEST(w.start, excluded.start)
            RETURNING used, last_grant
            """, logger: logger
        ).decode((Int64, Int64).self) { result = (granted, used) }
        return result
    }

    public func refund(subject: String, windows: [SharedWindow], amount: Int64) async throws {
        for w in windows {
            try await client.query(
                """
                UPDATE limit_windows SET used = GREATEST(0, used - \(amount))
                WHERE subject = \(subject) AND kind = \(w.kind) AND start = \(w.start)
                """, logger: logger)
        }
    }

    public func reserveTransfer(_ t: SharedTransfer, maxActive: Int64?, windows: [SharedWindow]) async throws
        -> SharedTransferOutcome
    {
        try await client.withTransaction(logger: logger) { [logger] c in
            try await Self.lock(c, t.subject, logger)
            let (active, reserved) = try await Self.transfers(c, t.subject, logger)
            if let maxActive, active >= maxActive { return .tooMany(active: active) }
            let stored = try await Self.windows(c, t.subject, logger)
            var counts: [Int64] = []
            for (i, w) in windows.enumerated() {
                let count = w.count(in: stored)
                counts.append(count)
                guard let max = w.limit else { continue }
                let used = count + reserved
                if used >= max || (t.bytes > 0 && used + t.bytes > max) { return .refused(index: i, used: used) }
            }
            try await c.query(
                """
                INSERT INTO transfer_reservations (id, subject, node, bytes) VALUES (\(t.id), \(t.subject), \(t.node), \(t.bytes))
                """, logger: logger)
            return .reserved(counts)
        }
    }

    @discardableResult
    public func finishTransfer(id: String, subject: String, windows: [SharedWindow], sent: Int64) async throws -> [Int64] {
        try await client.withTransaction(logger: logger) { [logger] c in
            try await c.query("DELETE FROM transfer_reservations WHERE id = \(id)", logger: logger)
            // Counted even when the reservation was released meanwhile (its node was taken for
            // dead): bytes sent are never forgotten.
            guard sent > 0 else { return [] }
            var after: [Int64] = []
            for w in windows { after.append(try await Self.add(c, subject, w.unlimited, sent, logger) ?? 0) }
            return after
        }
    }

    public func releaseTransfers(node: String) async throws -> Int {
        try await Self.count(client.query("DELETE FROM transfer_reservations WHERE node = \(node) RETURNING 1", logger: logger))
    }

    public func transfers(subject: String) async throws -> (active: Int64, reservedBytes: Int64) {
        try await client.withConnection { c in try await Self.transfers(c, subject, self.logger) }
    }

    public func windows(subject: String) async throws -> [LimitWindowRecord] {
        try await client.withConnection { c in try await Self.windows(c, subject, self.logger) }
    }

    public func leaseRequests(subject: String, capacity: Int64, perSecond: Double, want: Int64) async throws
        -> SharedRequestLease
    {
        try await client.withTransaction(logger: logger) { [logger] c in
            try await c.query(
                """
                INSERT INTO request_buckets (subject, tokens, updated_at)
                VALUES (\(subject), \(Double(capacity)), extract(epoch FROM clock_timestamp())) ON CONFLICT (subject) DO NOTHING
                """, logger: logger)
            var bucket: (tokens: Double, updated: Double, now: Double) = (Double(capacity), 0, 0)
            for try await (tokens, updated, now) in try await c.query(
                """
                SELECT tokens, updated_at, extract(epoch FROM clock_timestamp())::double precision
                FROM request_buckets WHERE subject = \(subject) FOR UPDATE
                """, logger: logger
            ).decode((Double, Double, Double).self) { bucket = (tokens, updated, now) }
            var tokens = min(Double(capacity), bucket.tokens + max(0, bucket.now - bucket.updated) * perSecond)
            let granted = min(want, Int64(tokens.rounded(.down)))
            tokens -= Double(max(0, granted))
            try await c.query(
                "UPDATE request_buckets SET tokens = \(tokens), updated_at = \(bucket.now) WHERE subject = \(subject)",
                logger: logger)
            let wait = granted > 0 || perSecond <= 0 ? (perSecond <= 0 ? 60 : 0) : (1 - tokens) / perSecond
            return SharedRequestLease(granted: max(0, granted), waitSeconds: wait)
        }
    }

    public func returnRequests(subject: String, capacity: Int64, count: Int64) async throws {
        try await client.query(
            """
            UPDATE request_buckets SET tokens = LEAST(\(Double(capacity)), tokens + \(Double(count))) WHERE subject = \(subject)
            """, logger: logger)
    }

    public func requestTokens(subject: String, capacity: Int64, perSecond: Double) async throws -> Double {
        var tokens = Double(capacity)
        for try await t in try await client.query(
            """
            SELECT LEAST(\(Double(capacity)), tokens + GREATEST(0, extract(epoch FROM clock_timestamp())::double precision - updated_at) * \(perSecond))
            FROM request_buckets WHERE subject = \(subject)
            """, logger: logger
        ).decode(Double.self) { tokens = t }
        return tokens
    }

    // MARK: -

    /// Adds `amount` to a window by the window rules, unless its limit would be passed; the count
    /// after, or nil when refused (nothing written).
    static func add(_ c: some PostgresQueryRunner, _ subject: String, _ w: SharedWindow, _ amount: Int64, _ logger: Logger)
        async throws -> Int64?
    {
        let limit = w.limit ?? Int64.max
        if let max = w.limit, max <= 0 || amount > max { return nil }
        var after: Int64?
        for try await used in try await c.run(
            """
            INSERT INTO limit_windows AS w (subject, kind, start, used) VALUES (\(subject), \(w.kind), \(w.start), \(amount))
            ON CONFLICT (subject, kind) DO UPDATE SET
                used = CASE WHEN excluded.start > w.start THEN excluded.used ELSE w.used + excluded.used END,
                start = GREATEST(w.start, excluded.start)
            WHERE (CASE WHEN excluded.start > w.start THEN 0 ELSE w.used END) < \(limit)
                AND (CASE WHEN excluded.start > w.start THEN 0 ELSE w.used END) <= \(limit) - excluded.used
            RETURNING used
            """, logger
        ).decode(Int64.self) { after = used }
        return after
    }

    static func lock(_ c: PostgresConnection, _ subject: String, _ logger: Logger) async throws {
        try await c.query("SELECT pg_advisory_xact_lock(\(limitLockSpace), hashtext(\(subject)))", logger: logger)
    }

    static func windows(_ c: PostgresConnection, _ subject: String, _ logger: Logger) async throws -> [LimitWindowRecord] {
        var result: [LimitWindowRecord] = []
        for try await (kind, start, used) in try await c.query(
            "SELECT kind, start, used FROM limit_windows WHERE subject = \(subject) ORDER BY kind", logger: logger
        ).decode((String, Int64, Int64).self) {
            result.append(LimitWindowRecord(subject: subject, kind: kind, start: start, used: used))
        }
        return result
    }

    static func transfers(_ c: PostgresConnection, _ subject: String, _ logger: Logger) async throws
        -> (active: Int64, reservedBytes: Int64)
    {
        var result: (active: Int64, reservedBytes: Int64) = (0, 0)
        for try await (n, bytes) in try await c.query(
            "SELECT count(*), coalesce(sum(bytes), 0)::bigint FROM transfer_reservations WHERE subject = \(subject)",
            logger: logger
        ).decode((Int64, Int64).self) { result = (n, bytes) }
        return result
    }
}

extension PostgresStore: NodeStore {
    public func heartbeat(_ node: NodeRecord, deadAfter: Double) async throws -> [NodeRecord] {
        try await client.query(
            """
            INSERT INTO nodes (name, url, heartbeat_at) VALUES (\(node.name), \(node.url), clock_timestamp())
            ON CONFLICT (name) DO UPDATE SET url = excluded.url, heartbeat_at = excluded.heartbeat_at
            """, logger: logger)
        try await client.query(
            """
            DELETE FROM transfer_reservations WHERE node IN (
                SELECT name FROM nodes WHERE heartbeat_at < clock_timestamp() - \(deadAfter) * interval '1 second')
            OR node NOT IN (SELECT name FROM nodes)
            """, logger: logger)
        var live: [NodeRecord] = []
        for try await (name, url) in try await client.query(
            """
            SELECT name, url FROM nodes WHERE heartbeat_at >= clock_timestamp() - \(deadAfter) * interval '1 second'
            ORDER BY name
            """, logger: logger
        ).decode((String, String).self) { live.append(NodeRecord(name: name, url: url)) }
        return live
    }

    public func leave(node: String) async throws {
        try await client.query("DELETE FROM nodes WHERE name = \(node)", logger: logger)
    }
}

extension SharedWindow {
    /// The window without its limit (a count that is never refused).
    var unlimited: SharedWindow { SharedWindow(kind: kind, start: start, limit: nil) }
}

/// A client or a connection: what runs a query.
protocol PostgresQueryRunner {
    func run(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresRowSequence
}

extension GuardedClient: PostgresQueryRunner {
    func run(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}

extension PostgresConnection: PostgresQueryRunner {
    func run(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}
