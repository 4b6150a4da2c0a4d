# Reference results from R's survey package for tests/analysis/test_reference.py.
#
# Run from this directory:  Rscript make_reference.R
# (R 4.2.2, survey 4.1.1 from Debian's r-base-core and r-cran-survey). Writes:
#   respondents.csv  the test data (made here, with a fixed seed)
#   population.csv   population counts per community x age_group x sex
#   reference.csv    one row per (config, indicator, domain, quantity); numbers as %.17g
#
# R is not a test dependency: the outputs are committed; re-run only to extend them.
suppressMessages(library(survey))
set.seed(20261124)

g17 <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

## ---- data: 4 streets (strata), 22 buildings (PSUs), 5 communities (domains) ----------
## Street S4 has a single building (a lonely PSU). Community C5 answers y1 = 1 throughout
## (the all-yes domain). Every community has buildings in several streets: domains cut strata.
buildings <- data.frame(
  building = sprintf("B%02d", 1:22),
  street = c(rep("S1", 8), rep("S2", 7), rep("S3", 6), "S4"),
  community = c("C1", "C1", "C1", "C2", "C2", "C3", "C5", "C5",
                "C1", "C3", "C3", "C4", "C4", "C4", "C2",
                "C2", "C4", "C5", "C5", "C3", "C1",
                "C3"),
  stringsAsFactors = FALSE
)
rows <- list()
for (b in seq_len(nrow(buildings))) {
  m <- sample(12:30, 1)
  base <- runif(1, 50, 300)
  rows[[b]] <- data.frame(
    building = buildings$building[b], street = buildings$street[b],
    community = buildings$community[b],
    w = round(base * runif(m, 0.6, 1.6), 3),
    age_group = sample(c("18-39", "40-59", "60+"), m, replace = TRUE),
    sex = sample(c("F", "M"), m, replace = TRUE),
    stringsAsFactors = FALSE
  )
}
d <- do.call(rbind, rows)
n <- nrow(d)
p1 <- c(C1 = 0.96, C2 = 0.93, C3 = 0.985, C4 = 0.9, C5 = 1)
d$y1 <- rbinom(n, 1, p1[d$community])
d$y2 <- rbinom(n, 1, 0.92)
d$y2[sample(n, round(0.1 * n))] <- NA  # not asked
p3 <- c(C1 = 0.8, C2 = 0.85, C3 = 0.9, C4 = 0.75, C5 = 0.95)
d$y3 <- rbinom(n, 1, p3[d$community])
d$N_street <- unname(c(S1 = 40, S2 = 30, S3 = 25, S4 = 3)[d$street])  # population PSUs per street
write.csv(d, "respondents.csv", row.names = FALSE)

## population: weighted sample counts, perturbed and rounded
pop <- aggregate(w ~ community + age_group + sex, data = d, FUN = sum)
pop$count <- round(pop$w * runif(nrow(pop), 0.8, 1.25))
pop$w <- NULL
write.csv(pop, "population.csv", row.names = FALSE)

## ---- designs ---------------------------------------------------------------------------
base <- svydesign(ids = ~building, strata = ~street, weights = ~w, nest = TRUE, data = d)
with_fpc <- svydesign(ids = ~building, strata = ~street, weights = ~w, fpc = ~N_street,
                      nest = TRUE, data = d)
no_cluster <- svydesign(ids = ~1, strata = ~street, weights = ~w, data = d)
no_strata <- svydesign(ids = ~building, weights = ~w, data = d)
## raking to community x age_group and community x sex (full-rank model matrix)
cal_formula <- ~ community * age_group + community * sex
pop_mm <- model.matrix(cal_formula, pop)
pop_totals <- colSums(pop_mm * pop$count)
raked <- calibrate(base, cal_formula, population = pop_totals, calfun = "raking",
                   epsilon = 1e-13, maxit = 500)
ca <- xtabs(count ~ community + age_group, pop)
cs <- xtabs(count ~ community + sex, pop)
raked_ipf <- rake(base, list(~community + age_group, ~community + sex), list(ca, cs),
                  control = list(maxit = 500, epsilon = 1e-13))
ps_pop <- aggregate(count ~ community + sex, data = pop, FUN = sum)
names(ps_pop)[3] <- "Freq"
poststrat <- postStratify(base, ~community + sex, ps_pop)

out <- list()
add <- function(config, indicator, domain, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(config = config, indicator = indicator,
    domain = domain, quantity = quantity, value = g17(value), stringsAsFactors = FALSE)
}

domains <- c("", sort(unique(d$community)))
one_domain <- function(des, dom, y) {
  keep <- !is.na(des$variables[[y]])
  if (dom != "") keep <- keep & des$variables$community == dom
  des[keep, ]   # calibrated designs keep every row with weight 0 outside
}

describe <- function(config, des, lonely, methods = c("beta", "logit", "mean"),
                     levels = c(0.95, 0.9)) {
  options(survey.lonely.psu = lonely)
  for (y in c("y1", "y2", "y3")) {
    f <- as.formula(paste0("~", y))
    by <- svyby(f, ~community, des, svymean, na.rm = TRUE)  # the grouped route
    for (dom in domains) {
      sub <- one_domain(des, dom, y)
      m <- svymean(f, sub, na.rm = TRUE)
      if (dom != "") {
        stopifnot(abs(by[dom, y] - coef(m)) < 1e-12, abs(by[dom, "se"] - SE(m)) < 1e-12)
      }
      est <- unname(coef(m)); v <- unname(vcov(m)[1, 1])
      nd <- sum(weights(sub, "sampling") != 0)
      add(config, y, dom, "estimate", est)
      add(config, y, dom, "se", sqrt(v))
      add(config, y, dom, "n", nd)
      add(config, y, dom, "df", degf(sub))
      add(config, y, dom, "deff", v / (est * (1 - est) / nd))
      add(config, y, dom, "n_eff", est * (1 - est) / v)
      add(config, y, dom, "nrow_design", nrow(sub))
      for (method in methods) for (level in levels) {
        ci <- suppressWarnings(attr(svyciprop(f, sub, method = method, level = level, na.rm = TRUE), "ci"))
        add(config, y, dom, sprintf("%s_%g_low", method, level), ci[1])
        add(config, y, dom, sprintf("%s_%g_high", method, level), ci[2])
      }
      ## Korn-Graubard as svyciprop(method="beta") computes it, but with n = respondents in
      ## the domain (svyciprop uses nrow(design), which counts the zero-weight rows that a
      ## calibrated design keeps)
      for (level in levels) {
        alpha <- 1 - level
        ne <- est * (1 - est) / v * (qt(alpha / 2, nd - 1) / qt(alpha / 2, degf(sub)))^2
        add(config, y, dom, sprintf("beta_n_%g_low", level),
            qbeta(alpha / 2, ne * est, ne * (1 - est) + 1))
        add(config, y, dom, sprintf("beta_n_%g_high", level),
            qbeta(1 - alpha / 2, ne * est + 1, ne * (1 - est)))
      }
    }
  }
}

describe("adjust", base, "adjust")
describe("certainty", base, "certainty")
describe("fpc", with_fpc, "adjust", methods = "beta", levels = 0.95)
describe("no_cluster", no_cluster, "adjust", methods = "beta", levels = 0.95)
describe("no_strata", no_strata, "adjust", methods = "beta", levels = 0.95)
describe("raked", raked, "adjust", methods = "beta", levels = 0.95)
describe("poststrat", poststrat, "adjust", methods = "beta", levels = 0.95)

## rake() (iterative proportional fitting) must give the same weights as calibrate()
options(survey.lonely.psu = "adjust")
for (y in c("y1", "y2", "y3")) {
  f <- as.formula(paste0("~", y))
  add("rake_ipf", y, "", "estimate", coef(svymean(f, raked_ipf, na.rm = TRUE)))
  by <- svyby(f, ~community, raked_ipf, svymean, na.rm = TRUE)
  for (dom in domains[-1]) add("rake_ipf", y, dom, "estimate", by[dom, y])
}
stopifnot(max(abs(weights(raked_ipf) / weights(raked) - 1)) < 1e-9)

## a third route to a domain estimate: the ratio of y * 1{C3} to 1{C3}
d3 <- update(base, yd = y1 * (community == "C3"), dd = as.numeric(community == "C3"))
r <- svyratio(~yd, ~dd, d3)
add("ratio", "y1", "C3", "estimate", coef(r))
add("ratio", "y1", "C3", "se", SE(r))

ref <- do.call(rbind, out)
write.csv(ref, "reference.csv", row.names = FALSE, quote = TRUE)
cat("wrote", nrow(ref), "reference values\n")
