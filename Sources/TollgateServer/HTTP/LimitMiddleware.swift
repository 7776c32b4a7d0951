import HTTPTypes
import Synchronization
import Hummingbird
import RegistryCore
import TollgateAuth
import TollgateLimits

extension HTTPField.Name {
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
}

/// Applies the caller's plan to every authenticated request (after `AuthMiddleware`): the
/// request rate, pulls (manifest GETs), and for blob downloads the transfer slots and byte
/// quotas, whose reservation is made once the response's length is known and before a byte is
/// sent. Counts each request in the usage ledger and adds `RateLimit-Limit`/`-Remaining` (the
/// pull limit, Docker Hub's shape) to the response.
struct LimitMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    let limiter: any Limiter
    let ledger: UsageLedger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        // A forwarded request was limited and counted by the node that forwarded it.
        guard let identity = context.identity, context.notes.forwardedBy == nil else { return try await next(request, context) }
        let subject = identity.principal(address: context.clientAddress)
        let user = identity.user
        var pull = false, blob = false
        var context = context
        switch (request.method, context.endpoint) {
        case (.get, .manifest): pull = true
        case (.get, .blob): blob = true
        case (.head, .manifest):
            let limiter = self.limiter, ledger = self.ledger
            context.pullCharge = PullCharge {
                switch await limiter.admit(subject, pull: true, request: false) {
                case .success: return
                case .failure(let no):
                    ledger.recordRefusal(user: user, kind: no.kind)
                    throw no.registryError
                }
            }
        default: break
        }

        let admission: Admission
        switch await limiter.admit(subject, pull: pull, request: true) {
        case .success(let a): admission = a
        case .failure(let no):
            throw refuse(no, user: user, pullHeader: limiter.plans.limits(for: subject).pullLimitHeader, remaining: 0)
        }
        var remaining = admission.pullsRemaining
        if blob, let no = await limiter.precheckTransfer(subject) {
            ledger.recordRequest(user: user, upstream: context.notes.upstream, pull: false)
            throw refuse(no, user: user, pullHeader: admission.pullLimitHeader, remaining: remaining)
        }

        // A HEAD whose answer took an upstream GET was charged a pull by the handler: from here
        // on it is a pull like a GET's (refunded when not served).
        func takeCharge() {
            guard context.pullCharge?.charged == true else { return }
            pull = true
            remaining = max(0, remaining - 1)
        }
        var response: Response
        do {
            response = try await next(request, context)
            takeCharge()
        } catch var error as RegistryError {
            takeCharge()
            if pull {
                await limiter.refundPull(subject)
                remaining += 1
            }
            ledger.recordRequest(user: user, upstream: context.notes.upstream, pull: false)
            if let header = admission.pullLimitHeader {
                error.headers["RateLimit-Limit"] = header
                error.headers["RateLimit-Remaining"] = String(remaining)
            }
            throw error
        } catch {
            takeCharge()
            if pull { await limiter.refundPull(subject) }
            ledger.recordRequest(user: user, upstream: context.notes.upstream, pull: false)
            throw error
        }

        let served = response.status.code < 400
        if pull, !served {
            await limiter.refundPull(subject)
            remaining += 1
        }
        let upstream = context.notes.upstream
        ledger.recordRequest(user: user, upstream: upstream, pull: pull && served)
        if let header = admission.pullLimitHeader {
            response.headers[.rateLimitLimit] = header
            response.headers[.rateLimitRemaining] = String(remaining)
        }
        guard blob, response.status == .ok || response.status == .partialContent else { return response }

        // A body of unknown length reserves its bound (declared size, else storage.max_blob_size);
        // the ticket settles to the bytes really sent.
        let length = response.body.contentLength.map { Int64($0) } ?? context.notes.transferBound ?? 0
        let ticket: TransferTicket
        switch await limiter.beginTransfer(subject, bytes: length) {
        case .success(let t): ticket = t
        case .failure(let no):
            throw refuse(no, user: user, pullHeader: admission.pullLimitHeader, remaining: remaining)
        }
        let fromCache = context.notes.cache == "hit"
        let ledger = self.ledger
        if !context.notes.isStreaming, response.body.contentLength != nil {
            // A body held in memory (small blobs): sent in one write, counted now.
            ticket.finish(sent: length)
            ledger.recordBytes(user: user, upstream: upstream, bytes: length, fromCache: fromCache)
            return response
        }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            let counter = ByteCounter()
            defer {
                ticket.finish(sent: counter.total)
                ledger.recordBytes(user: user, upstream: upstream, bytes: counter.total, fromCache: fromCache)
            }
            try await body.write(
                writer.map { buffer in
                    counter.add(buffer.readableBytes)
                    return buffer
                })
        }
        return response
    }

    private func refuse(_ no: LimitExceeded, user: UserName?, pullHeader: String?, remaining: Int64) -> RegistryError {
        ledger.recordRefusal(user: user, kind: no.kind)
        var error = no.registryError
        if let pullHeader {
            error.headers["RateLimit-Limit"] = pullHeader
            error.headers["RateLimit-Remaining"] = String(remaining)
        }
        return error
    }
}

/// A pull charged after the fact by the handler: a manifest HEAD whose answer took an upstream
/// GET. Refunded like any pull when the request fails.
final class PullCharge: Sendable {
    private let admit: @Sendable () async throws -> Void
    private let done = Atomic<Bool>(false)

    init(_ admit: @escaping @Sendable () async throws -> Void) { self.admit = admit }

    /// Counts the pull, or throws the limit's 429.
    func charge() async throws {
        guard !done.load(ordering: .relaxed) else { return }
        try await admit()
        done.store(true, ordering: .relaxed)
    }

    var charged: Bool { done.load(ordering: .relaxed) }
}
