//! A sharded counter: one count under one bound, split over N items so that
//! no single item takes every write (a DynamoDB item serves about 1,000 write
//! units a second). Each shard holds a cap and what it used of it; the caps
//! add up to the bound, so while every shard keeps `used <= cap` the bound holds.

/// Fewer shards than this is no split at all.
pub const MIN_SHARDS: u32 = 2;
/// A switch writes every shard in one transaction, which holds at most 100 actions.
pub const MAX_SHARDS: u32 = 32;
/// A shard's cap when the count has no bound: beyond what any count reaches.
pub const UNBOUNDED_CAP: i64 = 1 << 48;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub cap: i64,
    pub used: i64,
}

impl Shard {
    pub fn free(&self) -> i64 {
        self.cap - self.used
    }
}

/// Units moved from one shard's cap to another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub from: u32,
    pub to: u32,
    pub units: i64,
}

/// `n` shards holding `used` under `bound`: what is used and what is free are
/// each spread evenly, so every shard starts with room.
pub fn split(bound: Option<i64>, used: i64, n: u32) -> Vec<Shard> {
    let n64 = i64::from(n);
    let share = |total: i64, i: i64| total / n64 + i64::from(i < total % n64);
    let free = bound.map(|bound| (bound - used).max(0));
    (0..n)
        .map(|index| {
            let i = i64::from(index);
            let used = share(used, i);
            Shard {
                index,
                cap: free.map_or(UNBOUNDED_CAP, |free| used + share(free, i)),
                used,
            }
        })
        .collect()
}

/// What the shards hold together.
pub fn total_used(shards: &[Shard]) -> i64 {
    shards.iter().map(|s| s.used).sum()
}

/// For a full shard `to`: half (rounded up) of the free units of the shard
/// with the most, so a burst spreads again instead of piling on the last
/// shards with room. None when no other shard has any.
pub fn rebalance(shards: &[Shard], to: u32) -> Option<Move> {
    shards
        .iter()
        .filter(|s| s.index != to && s.free() > 0)
        .max_by_key(|s| s.free())
        .map(|from| Move {
            from: from.index,
            to,
            units: (from.free() + 1) / 2,
        })
}

/// The change of each shard's cap that makes the caps add up to a new
/// `bound`, the free units spread evenly again; each shard may only lose what
/// it has free. None when the shards already use more than `bound`.
pub fn recap(shards: &[Shard], bound: Option<i64>) -> Option<Vec<i64>> {
    let used = total_used(shards);
    if bound.is_some_and(|bound| bound < used) {
        return None;
    }
    let n = shards.len() as u32;
    let even = split(bound.map(|bound| bound - used), 0, n);
    Some(
        shards
            .iter()
            .zip(even)
            .map(|(shard, share)| match bound {
                Some(_) => shard.used + share.cap - shard.cap,
                None => UNBOUNDED_CAP - shard.cap,
            })
            .collect(),
    )
}

/// The shard a unit goes back to: `preferred` if it used any, else the one
/// that used the most. None when none used any.
pub fn giver(shards: &[Shard], preferred: u32) -> Option<u32> {
    shards
        .iter()
        .find(|s| s.index == preferred && s.used > 0)
        .or_else(|| shards.iter().filter(|s| s.used > 0).max_by_key(|s| s.used))
        .map(|s| s.index)
}

/// Units gathered into shard `to` from others, so that one shard can take or
/// give back a whole change on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gather {
    pub to: u32,
    pub from: Vec<(u32, i64)>,
}

/// How a change of several units is made on one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// This shard can make it alone.
    On(u32),
    /// None can: gather first (free units to take, used ones to give back), then plan again.
    Gather(Gather),
    /// All of them together cannot.
    Short,
}

/// Where `units` are taken: one of the shards with that much free (the
/// `pick`th, so concurrent changes spread), or free units gathered into one.
pub fn plan_take(shards: &[Shard], units: i64, pick: usize) -> Plan {
    plan(shards, units, pick, Shard::free)
}

/// Where `units` go back: one of the shards that used that many, or used
/// units gathered into one (a move of used units moves as much cap with them).
pub fn plan_give(shards: &[Shard], units: i64, pick: usize) -> Plan {
    plan(shards, units, pick, |s| s.used)
}

fn plan(shards: &[Shard], units: i64, pick: usize, has: impl Fn(&Shard) -> i64) -> Plan {
    if shards.is_empty() || shards.iter().map(&has).sum::<i64>() < units {
        return Plan::Short;
    }
    let fitting: Vec<&Shard> = shards.iter().filter(|s| has(s) >= units).collect();
    if !fitting.is_empty() {
        return Plan::On(fitting[pick % fitting.len()].index);
    }
    let to = &shards[pick % shards.len()];
    let mut need = units - has(to);
    let mut donors: Vec<&Shard> = shards.iter().filter(|s| s.index != to.index && has(s) > 0).collect();
    donors.sort_by_key(|s| std::cmp::Reverse(has(s)));
    let mut from = Vec::new();
    for donor in donors {
        if need <= 0 {
            break;
        }
        let moved = has(donor).min(need);
        from.push((donor.index, moved));
        need -= moved;
    }
    Plan::Gather(Gather { to: to.index, from })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(entries: &[(i64, i64)]) -> Vec<Shard> {
        entries
            .iter()
            .enumerate()
            .map(|(index, &(cap, used))| Shard {
                index: index as u32,
                cap,
                used,
            })
            .collect()
    }

    #[test]
    fn a_split_keeps_the_bound_and_the_count_and_leaves_every_shard_room() {
        let split = split(Some(10), 3, 4);
        assert_eq!(split.iter().map(|s| s.cap).sum::<i64>(), 10);
        assert_eq!(total_used(&split), 3);
        assert_eq!(split.iter().map(|s| s.free()).collect::<Vec<_>>(), [2, 2, 2, 1]);
        assert!(split.iter().all(|s| s.used <= s.cap));
    }

    #[test]
    fn a_split_of_a_full_count_has_no_room_and_an_unbounded_one_always_has() {
        assert!(split(Some(5), 5, 3).iter().all(|s| s.free() == 0));
        let unbounded = split(None, 7, 2);
        assert_eq!(total_used(&unbounded), 7);
        assert!(unbounded.iter().all(|s| s.cap == UNBOUNDED_CAP));
    }

    #[test]
    fn a_full_shard_takes_half_of_the_freest_ones_room() {
        let full = shards(&[(3, 3), (4, 1), (5, 0)]);
        assert_eq!(
            rebalance(&full, 0),
            Some(Move {
                from: 2,
                to: 0,
                units: 3
            })
        );
        assert_eq!(rebalance(&shards(&[(3, 3), (1, 1)]), 0), None);
        // The last free unit moves whole.
        assert_eq!(rebalance(&shards(&[(3, 3), (2, 1)]), 0).map(|m| m.units), Some(1));
    }

    #[test]
    fn a_new_bound_moves_caps_so_they_add_up_and_no_shard_drops_below_its_use() {
        let now = shards(&[(4, 4), (3, 0), (3, 1)]);
        let deltas = recap(&now, Some(7)).unwrap();
        let caps: Vec<i64> = now.iter().zip(&deltas).map(|(s, d)| s.cap + d).collect();
        assert_eq!(caps.iter().sum::<i64>(), 7);
        assert!(now.iter().zip(&caps).all(|(s, cap)| *cap >= s.used));
        assert_eq!(recap(&now, Some(4)), None);
        let unbounded = recap(&now, None).unwrap();
        assert!(now.iter().zip(unbounded).all(|(s, d)| s.cap + d == UNBOUNDED_CAP));
    }

    #[test]
    fn a_unit_goes_back_where_units_were_used() {
        let some = shards(&[(3, 0), (3, 2), (3, 1)]);
        assert_eq!(giver(&some, 2), Some(2));
        assert_eq!(giver(&some, 0), Some(1));
        assert_eq!(giver(&shards(&[(3, 0)]), 0), None);
    }

    #[test]
    fn a_change_of_several_units_goes_to_one_shard_that_can_make_it() {
        let some = shards(&[(5, 4), (5, 0), (5, 2), (5, 1)]);
        assert_eq!(plan_take(&some, 3, 0), Plan::On(1));
        assert_eq!(plan_take(&some, 3, 1), Plan::On(2));
        assert_eq!(plan_take(&some, 3, 2), Plan::On(3));
        assert_eq!(plan_give(&some, 3, 0), Plan::On(0));
        assert_eq!(plan_take(&some, 14, 0), Plan::Short);
        assert_eq!(plan_give(&some, 8, 0), Plan::Short);
    }

    #[test]
    fn units_spread_too_thin_are_gathered_into_one_shard_first() {
        let thin = shards(&[(3, 1), (3, 1), (3, 2)]);
        // 4 free units, at most 2 in any shard: shard 0 takes 2 from shard 1, which has the most.
        assert_eq!(
            plan_take(&thin, 4, 0),
            Plan::Gather(Gather {
                to: 0,
                from: vec![(1, 2)]
            })
        );
        assert_eq!(
            plan_give(&thin, 4, 1),
            Plan::Gather(Gather {
                to: 1,
                from: vec![(2, 2), (0, 1)]
            })
        );
    }
}
