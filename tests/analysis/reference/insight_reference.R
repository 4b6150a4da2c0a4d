# Reference results from R's survey package for the driver model, the change between waves
# and the trend test (tests/analysis/test_drivers.py, test_trends.py).
#
# Run from this directory:  Rscript insight_reference.R
# (R 4.2.2, survey 4.1.1 from Debian's r-base-core and r-cran-survey). Writes:
#   insight.csv            the test data (made here, with a fixed seed)
#   insight_reference.csv  one row per (config, key, quantity); numbers as %.17g
#
# R is not a test dependency: the outputs are committed; re-run only to extend them.
suppressMessages(library(survey))
set.seed(20261130)

g17 <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

## ---- data: 3 streets (strata), 24 buildings (PSUs), 6 communities, 3 waves -------------
## Each building has 40 households; each wave interviews 8-16 of them, so some households
## are interviewed again in a later wave (the overlap the change test must account for).
## Areas a1..a9 are satisfaction with 市政设施 ... 政务服务 (1 = 满意/比较满意); a4 (农贸市场)
## is blank for a fifth of respondents (not asked). y = overall satisfaction.
buildings <- data.frame(
  building = sprintf("B%02d", 1:24),
  street = rep(c("S1", "S2", "S3"), each = 8),
  community = rep(c("C1", "C2", "C3", "C4", "C5", "C6"), each = 4),
  effect = rnorm(24, 0, 0.6),
  stringsAsFactors = FALSE
)
area_base <- c(2.6, 2.2, 2.4, 1.6, 2.8, 1.9, 1.2, 3.0, 2.5)
area_beta <- c(0.3, 0.5, 0.9, 0.2, 0.1, 0.4, 1.4, 0.2, 0.3)
rows <- list()
for (wave in 1:3) {
  for (b in seq_len(nrow(buildings))) {
    m <- sample(8:16, 1)
    hh <- sample(1:40, m)
    a <- matrix(0, m, 9)
    for (k in 1:9) {
      a[, k] <- rbinom(m, 1, plogis(area_base[k] + buildings$effect[b] + 0.15 * (wave - 1)))
    }
    eta <- -1.2 + a %*% area_beta + 0.5 * buildings$effect[b]
    rows[[length(rows) + 1]] <- data.frame(
      wave = wave, building = buildings$building[b], street = buildings$street[b],
      community = buildings$community[b],
      household = sprintf("%s-%02d", buildings$building[b], hh),
      w = round(runif(m, 20, 90), 2),
      y = rbinom(m, 1, plogis(eta)),
      a, stringsAsFactors = FALSE
    )
  }
}
d <- do.call(rbind, rows)
names(d)[8:16] <- sprintf("a%d", 1:9)
d$a4[sample(nrow(d), round(0.2 * nrow(d)))] <- NA
d$district <- ifelse(d$community %in% c("C1", "C2", "C3", "C4"), "D1", "D2")
d$wave_building <- paste(d$wave, d$building, sep = ":")
d$wave_street <- paste(d$wave, d$street, sep = ":")
write.csv(d, "insight.csv", row.names = FALSE)

out <- list()
add <- function(config, key, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(config = config, key = key, quantity = quantity,
    value = g17(value), stringsAsFactors = FALSE)
}
areas <- sprintf("a%d", 1:9)
## glm's default convergence (1e-8 on the deviance) leaves its last IRLS weights, which
## svyglm's sandwich uses, ~1e-6 from the optimum: converge fully for the reference.
tight <- glm.control(epsilon = 1e-14, maxit = 100)
f_drivers <- as.formula(paste("y ~", paste(areas, collapse = " + ")))

add_glm <- function(config, fit) {
  s <- summary(fit)$coefficients
  ci <- confint(fit)
  for (term in rownames(s)) {
    key <- if (term == "(Intercept)") "intercept" else term
    add(config, key, "coef", s[term, 1])
    add(config, key, "se", s[term, 2])
    add(config, key, "p", s[term, 4])
    add(config, key, "ci_low", ci[term, 1])
    add(config, key, "ci_high", ci[term, 2])
  }
  add(config, "", "df", fit$df.residual)
}

## ---- drivers: all three waves pooled ------------------------------------------------------
w1 <- d
des1 <- svydesign(ids = ~building, strata = ~street, weights = ~w, nest = TRUE, data = w1)
add_glm("drivers", svyglm(f_drivers, des1, family = quasibinomial(), control = tight))
add_glm("drivers_D1", svyglm(f_drivers, subset(des1, district == "D1"),
                             family = quasibinomial(), control = tight))
des1_ns <- svydesign(ids = ~building, weights = ~w, data = w1)
add_glm("drivers_no_strata", svyglm(f_drivers, des1_ns, family = quasibinomial(), control = tight))

## the readable view: per area, rate and lift (difference of two domain means)
for (a in areas) {
  sub <- subset(des1, !is.na(w1[[a]]))
  r <- svymean(as.formula(paste0("~", a)), sub)
  add("lift", a, "rate", coef(r)[1])
  b <- svyby(~y, as.formula(paste0("~", a)), sub, svymean, covmat = TRUE)
  ct <- svycontrast(b, c(-1, 1))
  add("lift", a, "lift", coef(ct)[1])
  add("lift", a, "lift_se", SE(ct)[1])
  add("lift", a, "df", degf(sub))
}

## ---- change between waves 1 and 2 ---------------------------------------------------------
w12 <- subset(d, wave %in% c(1, 2))
designs <- list(
  ## independent samples: each wave its own strata and PSUs
  independent = svydesign(ids = ~wave_building, strata = ~wave_street, weights = ~w,
                          nest = TRUE, data = w12),
  ## the same buildings (and some households) in both waves: PSUs kept across waves
  linked = svydesign(ids = ~building, strata = ~street, weights = ~w, nest = TRUE, data = w12),
  ## households as PSUs, linked across waves (a re-interviewed household is one PSU)
  linked_household = svydesign(ids = ~household, strata = ~street, weights = ~w, nest = TRUE,
                               data = w12)
)
for (config in names(designs)) {
  des <- designs[[config]]
  for (ind in c("y", "a7")) {
    sub <- subset(des, !is.na(des$variables[[ind]]))
    b <- svyby(as.formula(paste0("~", ind)), ~wave, sub, svymean, covmat = TRUE)
    ct <- svycontrast(b, c(-1, 1))
    add(config, paste(ind, "", sep = "|"), "diff", coef(ct)[1])
    add(config, paste(ind, "", sep = "|"), "se", SE(ct)[1])
    b <- svyby(as.formula(paste0("~", ind)), ~interaction(wave, community), sub, svymean,
               covmat = TRUE)
    for (cm in sort(unique(w12$community))) {
      cvec <- setNames(rep(0, nrow(b)), rownames(b))
      cvec[paste("1", cm, sep = ".")] <- -1
      cvec[paste("2", cm, sep = ".")] <- 1
      ct <- svycontrast(b, cvec)
      add(config, paste(ind, cm, sep = "|"), "diff", coef(ct)[1])
      add(config, paste(ind, cm, sep = "|"), "se", SE(ct)[1])
      add(config, paste(ind, cm, sep = "|"), "df", degf(subset(sub, community == cm)))
    }
  }
}

## ---- trend over three waves ---------------------------------------------------------------
trend_des <- svydesign(ids = ~building, strata = ~street, weights = ~w, nest = TRUE, data = d)
add_glm("trend", svyglm(y ~ wave, trend_des, family = quasibinomial(), control = tight))
add_glm("trend_C3", svyglm(y ~ wave, subset(trend_des, community == "C3"),
                           family = quasibinomial(), control = tight))
trend_ind <- svydesign(ids = ~wave_building, strata = ~wave_street, weights = ~w, nest = TRUE,
                       data = d)
add_glm("trend_independent", svyglm(y ~ wave, trend_ind, family = quasibinomial(), control = tight))

write.csv(do.call(rbind, out), "insight_reference.csv", row.names = FALSE)
