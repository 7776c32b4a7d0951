import Foundation
import TollgateLimits
import Yams

extension ConfigReader {
    mutating func readPlans(_ node: Node, into c: inout TollgateConfiguration) {
        guard let m = mapping(node, "plans") else { return }
        for (name, value) in m {
            let base = "plans.\(name)"
            guard ConfigValues.isPlanName(name) else {
                problem(base, "plan names are letters, digits, '-' and '_'")
                continue
            }
            guard let fields = mappingOrEmpty(value, base) else { continue }
            var limits = PlanLimits()
            for (key, v) in fields {
                let path = "\(base).\(key)"
                guard let kind = LimitKind(key: key) else {
                    unknown(base, key)
                    continue
                }
                guard let text = string(v, path) else { continue }
                // `unlimited` is the same as leaving it out.
                guard let value = kind.about.unit.parseOverride(text) else {
                    problem(path, kind.about.unit.configProblem)
                    continue
                }
                limits[kind] = value
            }
            c.plans[name] = Plan(name: name, limits: limits)
        }
    }
}
